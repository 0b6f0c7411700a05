import { Annotations, Duration, Size, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as path from 'node:path';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { Construct } from 'constructs';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { PROJECT_ROOT } from '../bundled-function';
import { API_PORT, ContainerSettings, apiServerEnvironment } from '../dify-environment';
import type { BackendServiceTarget } from './backend-service';
import { lambdaSecretEnvironment } from './lambda-secrets';

export interface ApiFunctionProps {
  readonly vpc: ec2.IVpc;
  /** langgenius/dify-api tag the image is built from. */
  readonly difyVersion: string;
  /** Dify settings for the api (see dify-environment.ts). */
  readonly settings: ContainerSettings;
  readonly bucket: s3.IBucket;
  /**
   * Memory in MB (CPU grows with it).
   * @default 3008
   */
  readonly memoryMb?: number;
  /**
   * Invocation timeout in seconds.
   * @default 900
   */
  readonly timeoutSeconds?: number;
  /**
   * Provisioned concurrency on the live alias.
   * @default 0
   */
  readonly provisionedConcurrency?: number;
  /**
   * Enable SnapStart on published versions (the live alias always points at one).
   * @default false
   */
  readonly snapStart?: boolean;
  /**
   * The backend service to start when a request finds it asleep; also makes the api record real use for the sleep
   * controller (backend sleep, docs/adr/0018; functions/dify-api-image/backend_wake.py).
   * @default undefined (the backend always runs; the api neither records use nor calls ECS)
   */
  readonly wakeService?: BackendServiceTarget;
}

/** Warning id when provisioned concurrency is configured (it needs a raised account concurrency quota). */
export const PROVISIONED_CONCURRENCY_QUOTA_WARNING = 'dify-edge:provisionedConcurrencyQuota';

/** SnapStart hook paths (one prefix, blocked at the edge: edge/viewer-request/index.js BLOCKED_PREFIXES). */
export const SNAPSTART_HOOK_PREFIX = '/_snapstart/';
export const SNAPSTART_BEFORE_CHECKPOINT_PATH = `${SNAPSTART_HOOK_PREFIX}before-checkpoint`;
export const SNAPSTART_AFTER_RESTORE_PATH = `${SNAPSTART_HOOK_PREFIX}after-restore`;

/** `<cluster>/<service>` the api starts when the backend sleeps (functions/dify-api-image/backend_wake.py). */
export const WAKE_VARIABLE = 'DIFY_EDGE_WAKE';

/** Info id printed at synth while SnapStart is off (it is opt-in, docs/adr/0017). */
export const SNAPSTART_OPT_IN_INFO = 'dify-edge:snapStartOptIn';

/** Name of the alias CloudFront invokes; provisioned concurrency and the function URL hang off it. */
export const LIVE_ALIAS = 'live';

/**
 * Dify's api (Flask + gunicorn) on Lambda through the Lambda Web Adapter, with a response-streaming function URL
 * that only CloudFront (OAC, AWS_IAM) may call.
 */
export class ApiFunction extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly alias: lambda.Alias;
  readonly url: lambda.FunctionUrl;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    super(scope, id);
    const timeoutSeconds = props.timeoutSeconds ?? 900;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Dify api Lambda function',
      allowAllOutbound: true,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Dify api Lambda function',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    // BatchGetSecretValue has no resource-level permission; GetSecretValue on each secret still gates the values.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:BatchGetSecretValue'], resources: ['*'] }));

    const environment = {
      ...lambdaSecretEnvironment(this, props.settings, role),
      ...apiServerEnvironment(timeoutSeconds, 1),
      // Lambda Web Adapter settings (github.com/awslabs/aws-lambda-web-adapter README, "Configurations").
      AWS_LWA_PORT: String(API_PORT),
      AWS_LWA_READINESS_CHECK_PATH: '/health',
      // Dify's api needs 20-30 s to boot, beyond Lambda's 10 s init limit: let init return and wait on first invoke.
      // With SnapStart the init runs once at publish time with a longer limit, and must finish so the snapshot
      // holds a ready app rather than a half-started one.
      AWS_LWA_ASYNC_INIT: props.snapStart ? 'false' : 'true',
      // LWA 1.1.0 POSTs these to the app before the snapshot and after each restore (aws-lambda-web-adapter PRs #837,
      // #871); their presence makes the image's entry script start gunicorn on the hook wrapper
      // (functions/dify-api-image/snapstart_app.py). The edge answers 404 for the prefix (edge/viewer-request).
      ...(props.snapStart
        ? {
            AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH: SNAPSTART_BEFORE_CHECKPOINT_PATH,
            AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH: SNAPSTART_AFTER_RESTORE_PATH,
          }
        : {}),
      // Names, not ARNs: this environment is close to Lambda's 4 KB limit (test/stacks/api-environment-size.test.ts).
      ...(props.wakeService ? { [WAKE_VARIABLE]: props.wakeService.shortName } : {}),
      AWS_LWA_INVOKE_MODE: 'response_stream',
      // OAC overwrites Authorization; the edge moves the viewer's into this header and LWA puts it back.
      AWS_LWA_AUTHORIZATION_SOURCE: FORWARDED_AUTHORIZATION_HEADER,
    };

    this.function = new lambda.DockerImageFunction(this, 'Function', {
      description: `Dify api ${props.difyVersion} (Lambda Web Adapter, response streaming)`,
      code: lambda.DockerImageCode.fromImageAsset(path.join(PROJECT_ROOT, 'functions/dify-api-image'), {
        buildArgs: { DIFY_VERSION: props.difyVersion },
        platform: ecrAssets.Platform.LINUX_AMD64,
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: props.memoryMb ?? 3008,
      timeout: Duration.seconds(timeoutSeconds),
      // Dify writes uploads-in-flight, tiktoken and matplotlib caches to /tmp, the only writable path. SnapStart
      // supports at most 512 MiB of /tmp.
      ephemeralStorageSize: Size.mebibytes(props.snapStart ? 512 : 2048),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      role,
      environment,
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
      tracing: lambda.Tracing.DISABLED,
      ...(props.snapStart ? { snapStart: lambda.SnapStartConf.ON_PUBLISHED_VERSIONS } : {}),
    });
    props.bucket.grantReadWrite(this.function);
    if (props.wakeService) {
      // Only this service, and only UpdateService: the middleware asks for desiredCount 1 and nothing else.
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['ecs:UpdateService'], resources: [props.wakeService.serviceArn] }),
      );
    }

    this.alias = new lambda.Alias(this, 'LiveAlias', {
      aliasName: LIVE_ALIAS,
      version: this.function.currentVersion,
      provisionedConcurrentExecutions: props.provisionedConcurrency || undefined,
    });
    const provisioned = props.provisionedConcurrency ?? 0;
    if (provisioned > 0) {
      // Lambda keeps at least 100 units of the account's concurrency unreserved for functions without reserved
      // concurrency (Lambda DG "Configuring reserved concurrency for a function"; Lambda API Reference
      // "PutFunctionConcurrency"), and provisioned concurrency is taken from the same pool. New accounts start with
      // a reduced quota (Lambda DG "Lambda quotas"), often 10, where even 1 fails the deploy.
      Annotations.of(this).addWarningV2(
        PROVISIONED_CONCURRENCY_QUOTA_WARNING,
        `api.provisionedConcurrency is ${provisioned}: the deploy fails unless the AWS Lambda quota ` +
          `"Concurrent executions" (Service Quotas) in ${Stack.of(this).region} is at least ${provisioned + 100}, ` +
          'because Lambda must leave 100 units of account concurrency unreserved. New accounts often start at 10: ' +
          'check the quota and request an increase before deploying.',
      );
    }
    if (!props.snapStart) {
      // Opt-in, not the default (docs/adr/0017): AWS documents SnapStart's regions for its managed runtimes, but
      // names no region list for container images on their own; the adapter's hook relay (1.1.0) is new.
      Annotations.of(this).addInfo(
        `[${SNAPSTART_OPT_IN_INFO}] api.snapStart is off (opt-in): AWS does not document SnapStart for container ` +
          `images not built on an AWS base image per region, so it is not assumed available in ` +
          `${Stack.of(this).region}. Set api.snapStart: true to cut api cold starts to a snapshot restore ` +
          '(docs/adr/0017; measure with `npm run bench -- cold-start`).',
      );
    }
    this.url = this.alias.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
  }

  /**
   * Invokes the live alias every 5 minutes on weekdays during `hoursUtc` ("start-end"), so a warm environment is
   * usually there when people work. The event has the shape of a function URL request for `GET /health`
   * ({@link keepWarmEvent}), so the adapter forwards it to Dify as that request, which answers 200 without touching
   * the database. (A bare event would be POSTed to AWS_LWA_PASS_THROUGH_PATH instead, and Dify's /health answers 405
   * to POST: an error logged on every ping.)
   */
  addKeepWarmSchedule(hoursUtc: string): scheduler.Schedule {
    return new scheduler.Schedule(this, 'KeepWarmSchedule', {
      description: 'Keeps one Dify api environment warm during working hours',
      schedule: scheduler.ScheduleExpression.cron({ minute: '0/5', hour: hoursUtc, weekDay: 'MON-FRI' }),
      target: new schedulerTargets.LambdaInvoke(this.alias, {
        input: scheduler.ScheduleTargetInput.fromObject(keepWarmEvent()),
        retryAttempts: 0,
      }),
    });
  }
}

/** Path of the keep-warm request: Dify's api answers it without the database (api/extensions/ext_app_metrics.py, GET only). */
export const KEEP_WARM_PATH = '/health';
/** User agent of keep-warm requests, so they are easy to tell apart in logs (and from real use). */
export const KEEP_WARM_USER_AGENT = 'dify-edge-keep-warm';

/**
 * A Lambda function URL request event (payload format 2.0, Lambda DG "Invoking Lambda function URLs", request
 * payload) for `GET /health`: the same shape the adapter receives from the function URL itself.
 */
export function keepWarmEvent(): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: KEEP_WARM_PATH,
    rawQueryString: '',
    headers: { 'user-agent': KEEP_WARM_USER_AGENT, accept: 'application/json', host: 'keep-warm.invalid' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'keep-warm',
      domainName: 'keep-warm.invalid',
      domainPrefix: 'keep-warm',
      http: {
        method: 'GET',
        path: KEEP_WARM_PATH,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: KEEP_WARM_USER_AGENT,
      },
      requestId: 'keep-warm',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
    },
    isBase64Encoded: false,
  };
}
