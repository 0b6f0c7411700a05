/**
 * Custom resource (CDK Provider framework, onEvent + isComplete) that runs Dify's database migration
 * once per deploy as a one-off Fargate task and waits for it to finish.
 *
 * Dify's api image runs `flask upgrade-db` on every start when MIGRATION_ENABLED=true; on Lambda that is
 * switched off (every cold start would race to migrate), so the stack runs it here instead, before the
 * new api version serves. A change of ImageTag is what makes CloudFormation send an Update, i.e. a new run.
 */
import { DescribeTasksCommand, ECSClient, RunTaskCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  describeError,
  logJsonLine,
  readOptionalString,
  readRequiredString,
  readStringList,
  type LogLine,
  type ResourceProperties,
} from '../shared/custom-resource';

export const MIGRATION_PHYSICAL_RESOURCE_ID = 'dify-database-migration';
export const MIGRATION_STARTED_BY = 'dify-migration';
export const DEFAULT_MIGRATION_TIMEOUT_SECONDS = 1800;
const RESOURCE_LABEL = 'Dify database migration';
// ECS RunTask rejects a clientToken longer than 64 characters (ECS API reference, RunTask).
const MAX_CLIENT_TOKEN_LENGTH = 64;

export interface MigrationTaskSettings {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly containerName: string;
  readonly subnets: string[];
  readonly securityGroups: string[];
  readonly imageTag: string | undefined;
  readonly timeoutSeconds: number;
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
}

/** Data returned by onEvent; the Provider framework merges it into the event it hands to isComplete. */
// A type alias rather than an interface so it stays assignable to the framework's Record-shaped Data.
export type MigrationStartedData = {
  readonly TaskArn: string;
  /** A string, like every custom resource attribute CloudFormation can read back. */
  readonly StartedAtEpochMs: string;
};

export interface MigrationOnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: MigrationStartedData;
}

export type MigrationIsCompleteRequest = CloudFormationCustomResourceEvent & {
  readonly PhysicalResourceId?: string;
  readonly Data?: Readonly<Record<string, unknown>>;
};

export interface MigrationIsCompleteResponse {
  readonly IsComplete: boolean;
  readonly Data?: { readonly TaskArn: string; readonly ExitCode: string };
}

export interface MigrationHandlerOptions {
  readonly ecs: ECSClient;
  /** Clock for the timeout check; injectable so tests need not wait half an hour. */
  readonly now?: () => number;
  readonly log?: LogLine;
}

export interface MigrationHandlers {
  onEvent(event: CloudFormationCustomResourceEvent): Promise<MigrationOnEventResponse>;
  isComplete(event: MigrationIsCompleteRequest): Promise<MigrationIsCompleteResponse>;
}

export function readMigrationTaskSettings(properties: ResourceProperties): MigrationTaskSettings {
  const timeoutText = readOptionalString(properties, 'TimeoutSeconds', RESOURCE_LABEL);
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_MIGRATION_TIMEOUT_SECONDS : Number(timeoutText);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new Error(`${RESOURCE_LABEL}: resource property TimeoutSeconds must be a positive whole number of seconds`);
  }
  return {
    clusterArn: readRequiredString(properties, 'ClusterArn', RESOURCE_LABEL),
    taskDefinitionArn: readRequiredString(properties, 'TaskDefinitionArn', RESOURCE_LABEL),
    containerName: readRequiredString(properties, 'ContainerName', RESOURCE_LABEL),
    subnets: readStringList(properties, 'Subnets', RESOURCE_LABEL, { allowEmpty: false }),
    securityGroups: readStringList(properties, 'SecurityGroups', RESOURCE_LABEL, { allowEmpty: false }),
    imageTag: readOptionalString(properties, 'ImageTag', RESOURCE_LABEL),
    timeoutSeconds,
    logGroupName: readRequiredString(properties, 'LogGroupName', RESOURCE_LABEL),
    logStreamPrefix: readRequiredString(properties, 'LogStreamPrefix', RESOURCE_LABEL),
  };
}

/** The awslogs driver names streams `<prefix>/<container>/<task id>` (ECS DG, "Using the awslogs log driver"). */
export function migrationLogLocation(settings: MigrationTaskSettings, taskArn: string): string {
  const taskId = taskArn.split('/').pop() ?? taskArn;
  return `CloudWatch log group ${settings.logGroupName}, stream ${settings.logStreamPrefix}/${settings.containerName}/${taskId}`;
}

export function createMigrationHandlers(options: MigrationHandlerOptions): MigrationHandlers {
  const { ecs } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? logJsonLine;

  async function onEvent(event: CloudFormationCustomResourceEvent): Promise<MigrationOnEventResponse> {
    if (event.RequestType === 'Delete') {
      // Migrations are never reversed and the schema is data: nothing to undo. Properties are not
      // validated here so a rollback after a failed Create with bad input can still delete cleanly.
      log({ step: 'delete', detail: 'nothing to undo; database schema is kept' });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const settings = readMigrationTaskSettings(event.ResourceProperties);
    const physicalResourceId =
      event.RequestType === 'Update' ? event.PhysicalResourceId : MIGRATION_PHYSICAL_RESOURCE_ID;
    log({
      step: 'run-task',
      requestType: event.RequestType,
      cluster: settings.clusterArn,
      taskDefinition: settings.taskDefinitionArn,
      imageTag: settings.imageTag,
    });
    const response = await ecs.send(
      new RunTaskCommand({
        cluster: settings.clusterArn,
        taskDefinition: settings.taskDefinitionArn,
        // On-demand Fargate on purpose: a Spot reclaim halfway through an Alembic migration would leave
        // the schema half-upgraded and the deploy failed.
        launchType: 'FARGATE',
        count: 1,
        startedBy: MIGRATION_STARTED_BY,
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: settings.subnets,
            securityGroups: settings.securityGroups,
            assignPublicIp: 'DISABLED',
          },
        },
        // A retried invocation for the same CloudFormation request must not start a second migration.
        clientToken: event.RequestId.slice(0, MAX_CLIENT_TOKEN_LENGTH),
      }),
    );
    const failures = response.failures ?? [];
    const task = response.tasks?.[0];
    if (failures.length > 0 || task?.taskArn === undefined) {
      const reasons = failures.map((failure) =>
        [failure.reason, failure.detail, failure.arn].filter((part) => part !== undefined && part !== '').join(' - '),
      );
      const reasonText = reasons.length > 0 ? reasons.join('; ') : 'ECS returned no task and no failure reason';
      log({ step: 'run-task-failed', reasons: reasonText });
      throw new Error(`${RESOURCE_LABEL}: ECS could not start the migration task: ${reasonText}`);
    }
    const startedAtEpochMs = now();
    log({ step: 'run-task-started', taskArn: task.taskArn, lastStatus: task.lastStatus });
    return {
      PhysicalResourceId: physicalResourceId,
      Data: { TaskArn: task.taskArn, StartedAtEpochMs: String(startedAtEpochMs) },
    };
  }

  async function isComplete(event: MigrationIsCompleteRequest): Promise<MigrationIsCompleteResponse> {
    if (event.RequestType === 'Delete') {
      return { IsComplete: true };
    }
    const settings = readMigrationTaskSettings(event.ResourceProperties);
    const taskArn = event.Data?.['TaskArn'];
    const startedAtEpochMs = Number(event.Data?.['StartedAtEpochMs']);
    if (typeof taskArn !== 'string' || taskArn === '' || !Number.isFinite(startedAtEpochMs)) {
      throw new Error(
        `${RESOURCE_LABEL}: isComplete needs Data.TaskArn and Data.StartedAtEpochMs from onEvent; got ${JSON.stringify(event.Data ?? null)}`,
      );
    }
    const logLocation = migrationLogLocation(settings, taskArn);
    const described = await ecs.send(new DescribeTasksCommand({ cluster: settings.clusterArn, tasks: [taskArn] }));
    const task = described.tasks?.find((candidate) => candidate.taskArn === taskArn) ?? described.tasks?.[0];
    if (task === undefined) {
      const reasons = (described.failures ?? []).map((failure) => failure.reason ?? 'unknown').join(', ') || 'no task';
      throw new Error(
        `${RESOURCE_LABEL}: task ${taskArn} not found in cluster ${settings.clusterArn} (${reasons}); ` +
          `it may have been deleted or the cluster replaced. Check ${logLocation}`,
      );
    }
    log({ step: 'describe-task', taskArn, lastStatus: task.lastStatus, desiredStatus: task.desiredStatus });
    if (task.lastStatus === 'STOPPED') {
      return finishStoppedTask(task, taskArn, settings, logLocation);
    }
    const elapsedMs = now() - startedAtEpochMs;
    // Once ECS is already stopping the task (desired STOPPED) the outcome is decided; let it finish.
    if (elapsedMs > settings.timeoutSeconds * 1000 && task.desiredStatus !== 'STOPPED') {
      let stopOutcome = 'the task was stopped';
      try {
        await ecs.send(
          new StopTaskCommand({ cluster: settings.clusterArn, task: taskArn, reason: 'migration timed out' }),
        );
      } catch (error) {
        stopOutcome = `stopping the task failed too (${describeError(error)})`;
      }
      log({ step: 'timeout', taskArn, elapsedMs, timeoutSeconds: settings.timeoutSeconds, stopOutcome });
      throw new Error(
        `${RESOURCE_LABEL}: timed out after ${settings.timeoutSeconds} s (TimeoutSeconds) with the task still ` +
          `${task.lastStatus ?? 'in an unknown state'}; ${stopOutcome}. Check ${logLocation}`,
      );
    }
    return { IsComplete: false };
  }

  function finishStoppedTask(
    task: Task,
    taskArn: string,
    settings: MigrationTaskSettings,
    logLocation: string,
  ): MigrationIsCompleteResponse {
    const container = task.containers?.find((candidate) => candidate.name === settings.containerName);
    const stopDetails =
      `stopCode: ${task.stopCode ?? 'none'}, stoppedReason: ${task.stoppedReason ?? 'none'}` +
      (container?.reason ? `, container reason: ${container.reason}` : '');
    if (container === undefined) {
      const names = (task.containers ?? []).map((candidate) => candidate.name).join(', ') || 'none';
      throw new Error(
        `${RESOURCE_LABEL}: task ${taskArn} has no container named ${settings.containerName} ` +
          `(containers: ${names}; ${stopDetails})`,
      );
    }
    if (container.exitCode === undefined || container.exitCode === null) {
      log({ step: 'task-stopped-without-exit-code', taskArn, stopCode: task.stopCode, reason: task.stoppedReason });
      const what =
        task.stopCode === 'TaskFailedToStart'
          ? 'the migration task never started'
          : `the migration task stopped before container ${settings.containerName} reported an exit code`;
      throw new Error(`${RESOURCE_LABEL}: ${what} (${stopDetails}). Check ${logLocation}`);
    }
    if (container.exitCode !== 0) {
      log({ step: 'migration-failed', taskArn, exitCode: container.exitCode, reason: task.stoppedReason });
      throw new Error(
        `${RESOURCE_LABEL}: container ${settings.containerName} exited with code ${container.exitCode} ` +
          `(${stopDetails}). Check ${logLocation}`,
      );
    }
    log({ step: 'migration-succeeded', taskArn });
    return { IsComplete: true, Data: { TaskArn: taskArn, ExitCode: '0' } };
  }

  return { onEvent, isComplete };
}

let defaultHandlers: MigrationHandlers | undefined;

/** Built on first use so that importing this module (tests, bundling) never needs AWS configuration. */
function handlersFromLambdaEnvironment(): MigrationHandlers {
  defaultHandlers ??= createMigrationHandlers({ ecs: new ECSClient({}) });
  return defaultHandlers;
}

export const onEvent = (event: CloudFormationCustomResourceEvent): Promise<MigrationOnEventResponse> =>
  handlersFromLambdaEnvironment().onEvent(event);

export const isComplete = (event: MigrationIsCompleteRequest): Promise<MigrationIsCompleteResponse> =>
  handlersFromLambdaEnvironment().isComplete(event);

/** Alias of onEvent for a plain `handler` entry point. */
export const handler = onEvent;
