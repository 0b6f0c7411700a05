import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENVIRONMENT } from '../../functions/backend-sleep/environment';
import { bundledFunction } from '../bundled-function';
import type { BackendSleepMode, WorkingHoursConfig } from '../config';
import { DIFY_DEFAULT_QUEUES, type BackendServiceTarget } from './backend-service';
import { Cache } from './cache';

/** How often the controller looks; also the longest an idle backend runs past `idleMinutes`. */
export const SLEEP_CHECK_RATE = Duration.minutes(5);

export interface BackendSleepProps {
  readonly vpc: ec2.IVpc;
  /** The backend service, by name and ARN (BackendService.target). */
  readonly service: BackendServiceTarget;
  /** Dify's Redis: last use and running tasks in DB 0, Celery's broker in DB 1. */
  readonly cache: Cache;
  /** Dify's shared secret; its `redisAuthToken` field is the cache's AUTH token. */
  readonly difySecret: secretsmanager.ISecret;
  /** `idle` or `working-hours` (the construct is not created for `off`). */
  readonly mode: Exclude<BackendSleepMode, 'off'>;
  /**
   * Minutes without real use before the backend may sleep.
   * @default 30
   */
  readonly idleMinutes?: number;
  /**
   * Hours the backend keeps running in `working-hours` mode.
   * @default MON-FRI 09:00-18:00 Asia/Tokyo
   */
  readonly workingHours?: WorkingHoursConfig;
  /**
   * The upload relay: plugin endpoints (`/e/*`) reach the plugin daemon through it, not through the api, so its
   * invocations count as use.
   * @default undefined (relay invocations are not checked)
   */
  readonly relayFunction?: lambda.IFunction;
  /**
   * Celery queues the backend workers consume.
   * @default DIFY_DEFAULT_QUEUES
   */
  readonly queues?: readonly string[];
}

/**
 * The backend sleep controller (docs/adr/0018): a Lambda function in the VPC that EventBridge runs every 5 minutes.
 * It scales the backend service to 0 when nothing uses it (functions/backend-sleep/decision.ts) and, in
 * `working-hours` mode, back to 1 when the hours begin. An EventBridge rule rather than EventBridge Scheduler: a
 * fixed rate in UTC needs no time zone and no extra role (the rule invokes through the function's resource policy),
 * and scheduled rules cost nothing; the working hours are evaluated in the function, in their own time zone.
 */
export class BackendSleep extends Construct {
  readonly function: lambda.Function;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.ILogGroup;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: BackendSleepProps) {
    super(scope, id);
    const hours = props.workingHours ?? { days: 'MON-FRI', start: '09:00', end: '18:00', timeZone: 'Asia/Tokyo' };

    // Out to Redis (the rule the cache adds) and to the AWS APIs over HTTPS through NAT; nothing comes in.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Dify backend sleep controller',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to ECS, CloudWatch, Secrets Manager',
    );
    props.cache.allowFrom(this.securityGroup, 'Backend sleep controller');

    this.function = bundledFunction(this, 'Function', {
      source: 'functions/backend-sleep/index.ts',
      description: 'Dify backend sleep controller: scales the backend service to 0 when idle (docs/adr/0018)',
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      // The next run comes 5 minutes later anyway; a retry could act on an observation that is already old.
      retryAttempts: 0,
      timeout: Duration.seconds(60),
      environment: {
        [ENVIRONMENT.cluster]: props.service.clusterName,
        [ENVIRONMENT.service]: props.service.serviceName,
        [ENVIRONMENT.mode]: props.mode,
        [ENVIRONMENT.idleMinutes]: String(props.idleMinutes ?? 30),
        [ENVIRONMENT.days]: hours.days,
        [ENVIRONMENT.start]: hours.start,
        [ENVIRONMENT.end]: hours.end,
        [ENVIRONMENT.timeZone]: hours.timeZone,
        [ENVIRONMENT.redisHost]: props.cache.host,
        [ENVIRONMENT.redisPort]: String(Cache.PORT),
        // ElastiCache in-transit encryption is on (lib/constructs/cache.ts): TLS always.
        [ENVIRONMENT.redisTls]: 'true',
        [ENVIRONMENT.redisSecretArn]: props.difySecret.secretArn,
        [ENVIRONMENT.redisSecretField]: 'redisAuthToken',
        [ENVIRONMENT.queues]: (props.queues ?? DIFY_DEFAULT_QUEUES).join(','),
        ...(props.relayFunction ? { [ENVIRONMENT.relayFunctionName]: props.relayFunction.functionName } : {}),
      },
    });

    // bundledFunction gives the function its own log group with a retention.
    this.logGroup = this.function.logGroup;

    // Least privilege: this one service, read and scale; the one secret; metric reads.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: [props.service.serviceArn],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.difySecret.secretArn] }),
    );
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    const role = this.function.role!;
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:GetMetricData has no resource-level permissions ("Actions, resources, and condition keys for ' +
          'Amazon CloudWatch", Service Authorization Reference); it reads metrics only, of the relay function.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes; everything else is inline.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'AWSLambdaVPCAccessExecutionRole only manages the network interfaces Lambda needs to reach Redis in the VPC.',
      },
    );
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 24 is the newest runtime this CDK version knows; cdk-nag compares against a newer list.',
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the Dify backend sleep controller',
      schedule: events.Schedule.rate(SLEEP_CHECK_RATE),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
