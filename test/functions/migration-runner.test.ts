import { ECSClient } from '@aws-sdk/client-ecs';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  createMigrationHandlers,
  MIGRATION_PHYSICAL_RESOURCE_ID,
  type MigrationHandlers,
  type MigrationIsCompleteRequest,
  type MigrationOnEventResponse,
} from '../../functions/migration-runner';
import { startFakeEcs, type FakeEcs } from './fake-ecs-server';
import { fakeCredentials } from './local-server';

const CLUSTER_ARN = 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/dify-cluster';
const TASK_DEFINITION_ARN = 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dify-migration:7';
const TASK_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const LOG_STREAM = `dify/migration/${TASK_ID}`;
const STARTED_AT = 1_767_225_600_000;

const properties = {
  ServiceToken: 'arn:aws:lambda:ap-northeast-1:123456789012:function:provider-framework-onEvent',
  ClusterArn: CLUSTER_ARN,
  TaskDefinitionArn: TASK_DEFINITION_ARN,
  ContainerName: 'migration',
  Subnets: ['subnet-0aaa1111bbbb2222c', 'subnet-0ddd3333eeee4444f'],
  SecurityGroups: ['sg-0123456789abcdef0'],
  ImageTag: '1.13.3',
  TimeoutSeconds: '600',
  LogGroupName: '/dify/migration',
  LogStreamPrefix: 'dify',
};

const common = {
  ServiceToken: properties.ServiceToken,
  ResponseURL: 'https://cloudformation-custom-resource-response-apnortheast1.s3.amazonaws.com/signed',
  StackId: 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/DifyStack/5e0c6f70-0000-11f0-9000-0a1b2c3d4e5f',
  RequestId: '2b9e1b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b',
  LogicalResourceId: 'DatabaseMigration',
  ResourceType: 'Custom::DifyDatabaseMigration',
};

function createEvent(resourceProperties: Record<string, unknown> = properties): CloudFormationCustomResourceEvent {
  return {
    ...common,
    RequestType: 'Create',
    ResourceProperties: { ...resourceProperties, ServiceToken: common.ServiceToken },
  };
}

function updateEvent(): CloudFormationCustomResourceEvent {
  return {
    ...common,
    RequestType: 'Update',
    PhysicalResourceId: 'migration-from-earlier-deploy',
    ResourceProperties: { ...properties, ImageTag: '1.13.4' },
    OldResourceProperties: properties,
  };
}

/** What the Provider framework hands isComplete: the event merged with onEvent's answer. */
function isCompleteRequest(
  event: CloudFormationCustomResourceEvent,
  response: MigrationOnEventResponse,
): MigrationIsCompleteRequest {
  return { ...event, ...response };
}

describe('migration-runner custom resource', () => {
  let ecsServer: FakeEcs;
  let ecs: ECSClient;
  let clock: number;
  let handlers: MigrationHandlers;
  let logLines: Array<Record<string, unknown>>;

  beforeEach(async () => {
    ecsServer = await startFakeEcs();
    ecs = new ECSClient({ endpoint: ecsServer.endpoint, region: 'ap-northeast-1', credentials: fakeCredentials });
    clock = STARTED_AT;
    logLines = [];
    handlers = createMigrationHandlers({ ecs, now: () => clock, log: (line) => logLines.push(line) });
  });

  afterEach(async () => {
    ecs.destroy();
    await ecsServer.close();
  });

  test('Create runs one on-demand Fargate task in the private subnets and waits until it exits 0', async () => {
    const event = createEvent();
    const started = await handlers.onEvent(event);

    expect(started).toEqual({
      PhysicalResourceId: MIGRATION_PHYSICAL_RESOURCE_ID,
      Data: { TaskArn: ecsServer.taskArn, StartedAtEpochMs: String(STARTED_AT) },
    });
    const [runTask] = ecsServer.callsTo('RunTask');
    expect(runTask.body).toMatchObject({
      cluster: CLUSTER_ARN,
      taskDefinition: TASK_DEFINITION_ARN,
      launchType: 'FARGATE',
      count: 1,
      startedBy: 'dify-migration',
      clientToken: common.RequestId,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: properties.Subnets,
          securityGroups: properties.SecurityGroups,
          assignPublicIp: 'DISABLED',
        },
      },
    });
    expect(runTask.body).not.toHaveProperty('capacityProviderStrategy');

    ecsServer.taskSnapshots = [
      { lastStatus: 'PENDING', containers: [{ name: 'migration', lastStatus: 'PENDING' }] },
      { lastStatus: 'RUNNING', containers: [{ name: 'migration', lastStatus: 'RUNNING' }] },
      {
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'migration', lastStatus: 'STOPPED', exitCode: 0 }],
      },
    ];
    const request = isCompleteRequest(event, started);
    clock += 30_000;
    await expect(handlers.isComplete(request)).resolves.toEqual({ IsComplete: false });
    clock += 60_000;
    await expect(handlers.isComplete(request)).resolves.toEqual({ IsComplete: false });
    clock += 60_000;
    await expect(handlers.isComplete(request)).resolves.toEqual({
      IsComplete: true,
      Data: { TaskArn: ecsServer.taskArn, ExitCode: '0' },
    });

    const describes = ecsServer.callsTo('DescribeTasks');
    expect(describes).toHaveLength(3);
    expect(describes[0].body).toEqual({ cluster: CLUSTER_ARN, tasks: [ecsServer.taskArn] });
    expect(ecsServer.callsTo('StopTask')).toHaveLength(0);
    expect(logLines.map((line) => line.step)).toContain('migration-succeeded');
  });

  test('Update keeps the physical id and starts a new run', async () => {
    const started = await handlers.onEvent(updateEvent());
    expect(started.PhysicalResourceId).toBe('migration-from-earlier-deploy');
    expect(started.Data?.TaskArn).toBe(ecsServer.taskArn);
    expect(ecsServer.callsTo('RunTask')).toHaveLength(1);
  });

  test('a non-zero exit fails with the exit code, the stop reason and the log stream', async () => {
    const event = createEvent();
    const started = await handlers.onEvent(event);
    ecsServer.taskSnapshots = [
      {
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'migration', lastStatus: 'STOPPED', exitCode: 1 }],
      },
    ];

    const failure = handlers.isComplete(isCompleteRequest(event, started));
    await expect(failure).rejects.toThrow(/exited with code 1/);
    await expect(handlers.isComplete(isCompleteRequest(event, started))).rejects.toThrow(
      `Essential container in task exited`,
    );
    await expect(handlers.isComplete(isCompleteRequest(event, started))).rejects.toThrow(
      `log group /dify/migration, stream ${LOG_STREAM}`,
    );
  });

  test('RunTask failures (no capacity) fail Create with the reason', async () => {
    ecsServer.runTaskFailures = [
      {
        arn: CLUSTER_ARN,
        reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone',
      },
    ];
    await expect(handlers.onEvent(createEvent())).rejects.toThrow(/Capacity is unavailable at this time/);
    expect(ecsServer.callsTo('RunTask')).toHaveLength(1);
  });

  test('a task that never started fails with its stop code and reason', async () => {
    const event = createEvent();
    const started = await handlers.onEvent(event);
    ecsServer.taskSnapshots = [
      {
        lastStatus: 'STOPPED',
        stopCode: 'TaskFailedToStart',
        stoppedReason:
          'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/langgenius/dify-api:9.9.9: not found',
        containers: [{ name: 'migration', lastStatus: 'STOPPED', reason: 'CannotPullContainerError' }],
      },
    ];

    const error: unknown = await handlers.isComplete(isCompleteRequest(event, started)).catch((caught) => caught);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('never started');
    expect(message).toContain('stopCode: TaskFailedToStart');
    expect(message).toContain('CannotPullContainerError: pull image manifest');
    expect(message).not.toContain('exited with code');
  });

  test('timeout stops the task and fails naming the limit and the log location', async () => {
    const event = createEvent();
    const started = await handlers.onEvent(event);
    ecsServer.taskSnapshots = [{ lastStatus: 'RUNNING', containers: [{ name: 'migration', lastStatus: 'RUNNING' }] }];

    clock = STARTED_AT + 600_000;
    await expect(handlers.isComplete(isCompleteRequest(event, started))).resolves.toEqual({ IsComplete: false });
    expect(ecsServer.callsTo('StopTask')).toHaveLength(0);

    clock = STARTED_AT + 600_001;
    const error: unknown = await handlers.isComplete(isCompleteRequest(event, started)).catch((caught) => caught);
    expect((error as Error).message).toMatch(/timed out after 600 s/);
    expect((error as Error).message).toContain(`stream ${LOG_STREAM}`);
    const stops = ecsServer.callsTo('StopTask');
    expect(stops).toHaveLength(1);
    expect(stops[0].body).toEqual({ cluster: CLUSTER_ARN, task: ecsServer.taskArn, reason: 'migration timed out' });
  });

  test('TimeoutSeconds defaults to 1800', async () => {
    const { TimeoutSeconds: _omitted, ...withoutTimeout } = properties;
    void _omitted;
    const event = createEvent(withoutTimeout);
    const started = await handlers.onEvent(event);
    ecsServer.taskSnapshots = [{ lastStatus: 'RUNNING', containers: [{ name: 'migration' }] }];

    clock = STARTED_AT + 1_800_000;
    await expect(handlers.isComplete(isCompleteRequest(event, started))).resolves.toEqual({ IsComplete: false });
    clock = STARTED_AT + 1_800_001;
    await expect(handlers.isComplete(isCompleteRequest(event, started))).rejects.toThrow(/timed out after 1800 s/);
  });

  test('a task ECS no longer knows fails clearly', async () => {
    const event = createEvent();
    const started = await handlers.onEvent(event);
    ecsServer.taskSnapshots = [];
    await expect(handlers.isComplete(isCompleteRequest(event, started))).rejects.toThrow(
      new RegExp(`task ${ecsServer.taskArn} not found in cluster .*MISSING`),
    );
  });

  test('Delete does nothing and completes at once', async () => {
    const event: CloudFormationCustomResourceEvent = {
      ...common,
      RequestType: 'Delete',
      PhysicalResourceId: MIGRATION_PHYSICAL_RESOURCE_ID,
      // Even broken properties must not block a delete (e.g. rollback of a Create that failed validation).
      ResourceProperties: { ServiceToken: common.ServiceToken },
    };
    const response = await handlers.onEvent(event);
    expect(response).toEqual({ PhysicalResourceId: MIGRATION_PHYSICAL_RESOURCE_ID });
    await expect(handlers.isComplete({ ...event, ...response })).resolves.toEqual({ IsComplete: true });
    expect(ecsServer.calls).toHaveLength(0);
  });

  test.each([
    ['ClusterArn', { ...properties, ClusterArn: undefined }],
    ['Subnets', { ...properties, Subnets: 'subnet-0aaa1111bbbb2222c' }],
    ['SecurityGroups', { ...properties, SecurityGroups: [] }],
    ['TimeoutSeconds', { ...properties, TimeoutSeconds: 'half an hour' }],
  ])('bad property %s is rejected before any ECS call', async (name, badProperties) => {
    await expect(handlers.onEvent(createEvent(badProperties))).rejects.toThrow(`resource property ${name}`);
    expect(ecsServer.calls).toHaveLength(0);
  });
});
