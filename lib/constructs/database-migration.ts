import { CustomResource, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { bundledFunction } from '../bundled-function';
import { waitForRolePolicies } from '../custom-resource-permissions';
import { acknowledgeProviderInvokes } from '../nag-suppressions';
import { ContainerSettings } from '../dify-environment';
import { ecsSecrets, entrypointWithTemplates } from './ecs-settings';

export interface DatabaseMigrationProps {
  readonly cluster: ecs.ICluster;
  readonly difyVersion: string;
  /** The dify-api image of `difyVersion` (from the account's ECR). */
  readonly image: ecs.ContainerImage;
  /** Settings of the api image (database, Redis lock, storage). */
  readonly settings: ContainerSettings;
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Longest a migration may run before the task is stopped and the deployment fails.
   * @default Duration.minutes(30)
   */
  readonly timeout?: Duration;
}

/** awslogs stream prefix; the stream is `<prefix>/<container>/<task id>`. */
export const MIGRATION_STREAM_PREFIX = 'migration';
export const MIGRATION_CONTAINER = 'migration';

/** Task-definition family of the migration task: `<stack name>-dify-migration`, the same on every deploy. */
export function migrationTaskFamily(stackName: string): string {
  return `${stackName}-dify-migration`;
}

/**
 * Runs `flask upgrade-db` once per deploy, as a one-off on-demand Fargate task started and awaited by a custom
 * resource, whenever the api image tag changes. Lambda must not migrate on each cold start (it would add the
 * migration to every cold start and race between concurrent environments), so the api and web functions depend
 * on this resource and are only updated after it succeeds (docs/adr/0003).
 */
export class DatabaseMigration extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly resource: CustomResource;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DatabaseMigrationProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(30);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS });
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.stackName)) throw new Error('DatabaseMigration: the stack needs a literal name');
    const family = migrationTaskFamily(stack.stackName);
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family,
      cpu: 512,
      memoryLimitMiB: 2048,
    });
    this.taskDefinition.addContainer(MIGRATION_CONTAINER, {
      image: props.image,
      environment: props.settings.environment,
      secrets: ecsSecrets(props.settings),
      ...entrypointWithTemplates(props.settings, 'flask upgrade-db'),
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: MIGRATION_STREAM_PREFIX }),
    });

    const runner = bundledFunction(this, 'MigrationRunnerFunction', {
      source: 'functions/migration-runner/index.ts',
      handler: 'onEvent',
      description: 'Starts the Dify database migration task',
    });
    const checker = bundledFunction(this, 'MigrationCheckerFunction', {
      source: 'functions/migration-runner/index.ts',
      handler: 'isComplete',
      description: 'Waits for the Dify database migration task and reports its exit code',
    });
    // Every revision of this one family (`family:*`, ECS API Reference "RunTask", taskDefinition): a Dify upgrade
    // registers a new revision, and a policy naming that revision would be rewritten in the same deploy that runs
    // the migration, which then races the IAM update. The family name is fixed, so the policy never changes.
    const familyRevisions = stack.formatArn({
      service: 'ecs',
      resource: 'task-definition',
      resourceName: `${family}:*`,
    });
    runner.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [familyRevisions],
        conditions: { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } },
      }),
    );
    Validations.of(runner).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(familyRevisions))}]`,
      reason:
        'Every revision of the one migration task family, on this cluster only: a new Dify version is a new revision.',
    });
    // Only the two roles of that task, and only to ECS tasks.
    runner.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.taskDefinition.taskRole.roleArn, this.taskDefinition.obtainExecutionRole().roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    checker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } },
      }),
    );

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: runner,
      isCompleteHandler: checker,
      queryInterval: Duration.seconds(15),
      // Longer than the handler's own timeout, so the user sees its message (with the log location) first.
      totalTimeout: timeout.plus(Duration.minutes(15)),
    });
    const frameworkFunctions = ['framework-isComplete', 'framework-onTimeout']
      .map((id) => provider.node.tryFindChild(id))
      .filter((c): c is Construct => c !== undefined);
    acknowledgeProviderInvokes(provider, [runner, checker, ...frameworkFunctions]);
    const subnets = props.cluster.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds;
    this.resource = new CustomResource(this, 'Migration', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DifyDatabaseMigration',
      properties: {
        ClusterArn: props.cluster.clusterArn,
        TaskDefinitionArn: this.taskDefinition.taskDefinitionArn,
        ContainerName: MIGRATION_CONTAINER,
        Subnets: subnets,
        SecurityGroups: [props.securityGroup.securityGroupId],
        ImageTag: props.difyVersion,
        TimeoutSeconds: String(timeout.toSeconds()),
        LogGroupName: this.logGroup.logGroupName,
        LogStreamPrefix: MIGRATION_STREAM_PREFIX,
      },
    });
    waitForRolePolicies(this.resource, runner, checker, provider);
  }
}

/** A resolved CloudFormation value the way cdk-nag names it in a finding: `Ref` → `<Id>`, `Fn::Join` joined. */
function nagText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return `<${v.Ref}>`;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    const join = v['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(nagText).join(join[0]);
    }
  }
  return JSON.stringify(value);
}
