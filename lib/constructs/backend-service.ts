import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import {
  API_PORT,
  ContainerSettings,
  PLUGIN_DAEMON_PORT,
  PLUGIN_WORKING_PATH,
  SANDBOX_PORT,
  apiServerEnvironment,
} from '../dify-environment';
import { celeryWorkerEntrypoint } from './celery-worker-command';
import { ContainerImages } from './container-images';
import { PluginStorage } from './plugin-storage';
import {
  celeryProcessHealthCheck,
  ecsSecrets,
  entrypointWithTemplates,
  httpHealthCheck,
  waitForCapacityProviders,
} from './ecs-settings';

/** Dify's api image entrypoint (langgenius/dify-api: ENTRYPOINT ["/bin/bash", "/entrypoint.sh"]). */
export const DIFY_API_ENTRYPOINT = '/bin/bash /entrypoint.sh';

/**
 * The queues Dify 1.13.3's worker consumes when CELERY_QUEUES is unset, for the self-hosted edition
 * (api/docker/entrypoint.sh, DEFAULT_QUEUES of the non-CLOUD branch). A test checks this list against that file.
 */
export const DIFY_DEFAULT_QUEUES = [
  'api_token',
  'dataset',
  'dataset_summary',
  'priority_dataset',
  'priority_pipeline',
  'pipeline',
  'mail',
  'ops_trace',
  'app_deletion',
  'plugin',
  'workflow_storage',
  'conversation',
  'workflow',
  'schedule_poller',
  'schedule_executor',
  'triggered_workflow_dispatcher',
  'trigger_refresh_executor',
  'retention',
  'workflow_based_app_execution',
] as const;

/**
 * Streaming chatflow and workflow runs execute on the worker, from this queue, while a user waits on the stream
 * (api/services/app_generate_service.py:146-228): they get a worker of their own, so indexing never delays them.
 */
export const RUN_QUEUES = ['workflow_based_app_execution'];
/** Everything else: document indexing, knowledge pipelines, plugin installs, mail, schedules, clean-ups. */
export const BACKGROUND_QUEUES = DIFY_DEFAULT_QUEUES.filter((queue) => !RUN_QUEUES.includes(queue));

/**
 * Concurrent streaming runs the run worker executes. A run spends nearly all its time waiting on LLM and tool HTTP
 * calls, which a gevent greenlet does at almost no cost, while code nodes run in dify-sandbox. 16 covers a small
 * team (about 10 people active at once, some with a second run such as a debug preview open) with headroom; the
 * 17th run waits in Redis until one finishes. Each running greenlet may hold one database connection, well within
 * SQLAlchemy's default pool of 30 + 10 overflow (api/configs/middleware/__init__.py, SQLALCHEMY_POOL_SIZE).
 */
export const RUN_WORKER_CONCURRENCY = 16;
/**
 * Background tasks at once. Indexing parses and splits documents in Python (CPU-bound under gevent), so more than a
 * few at once only slows each of them on the task's one vCPU.
 */
export const BACKGROUND_WORKER_CONCURRENCY = 4;

export interface BackendServiceProps {
  readonly cluster: ecs.ICluster;
  readonly namespace: servicediscovery.IPrivateDnsNamespace;
  /** Where the task's images come from (the account's ECR). */
  readonly images: ContainerImages;
  /** Settings of the background worker (indexing and every queue but the run queue). */
  readonly workerSettings: ContainerSettings;
  /** Settings of the run worker (streaming chatflow and workflow runs). */
  readonly runWorkerSettings: ContainerSettings;
  readonly beatSettings: ContainerSettings;
  readonly internalApiSettings: ContainerSettings;
  readonly pluginDaemonSettings: ContainerSettings;
  readonly sandboxSettings: ContainerSettings;
  readonly bucket: s3.IBucket;
  /**
   * Tasks always on on-demand Fargate.
   * @default 0
   */
  readonly onDemandBase?: number;
  /**
   * Weight of FARGATE_SPOT.
   * @default 1
   */
  readonly spotWeight?: number;
  /**
   * Weight of FARGATE above the base.
   * @default 0
   */
  readonly onDemandWeight?: number;
  /**
   * Task CPU units.
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Task memory (MiB).
   * @default 4096
   */
  readonly memoryMiB?: number;
  /**
   * Enable ECS Exec.
   * @default false
   */
  readonly enableExec?: boolean;
  /**
   * The backend sleeps (docs/adr/0018): the sleep controller and the wake calls own the desired count, so the template
   * leaves DesiredCount out and a deploy neither wakes nor stops the service.
   * @default false (DesiredCount 1)
   */
  readonly sleeps?: boolean;
}

/**
 * Name of the backend ECS service. Fixed, so that what must start the service (the api, the relay, the sleep
 * controller: docs/adr/0018) can name it without referencing the service resource: the service is created after the
 * site URL is written, which needs the distribution, which needs the relay, so a reference would be a cycle.
 */
export const BACKEND_ECS_SERVICE_NAME = 'dify-backend';

/** What a caller needs to start or stop the backend service, without a dependency on the service resource. */
export interface BackendServiceTarget {
  readonly clusterName: string;
  readonly serviceName: string;
  /** `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` (the ARN format ECS uses since 2021). */
  readonly serviceArn: string;
  /** `<cluster name>/<service name>`: short, for a Lambda environment near its 4 KB limit. */
  readonly shortName: string;
}

/** The backend task's container that runs Dify's api for the plugin daemon (and, in `uploads.mode: 'full'`, uploads). */
export const INTERNAL_API_CONTAINER = 'internal-api';

/** How long ECS ignores load balancer health checks after the backend task starts (see internalApiTarget). */
const INTERNAL_API_GRACE_PERIOD = Duration.minutes(5);

/** Cloud Map name of the backend task: `backend.<namespace>`. */
export const BACKEND_SERVICE_NAME = 'backend';

/**
 * Dify's always-on back end as ONE Fargate (Spot) task: Celery worker and beat, the plugin daemon, an internal api
 * for the plugin daemon's callbacks, and dify-sandbox. One task means one ENI, one Spot price and localhost between
 * the parts (docs/adr/0004). The api on Lambda reaches the sandbox and plugin daemon at `backend.<namespace>`.
 *
 * Memory reservations (soft) add up to 3.5 GiB of the default 4 GiB: background worker 1 GiB (document parsing),
 * run worker 512 MiB, internal api 768 MiB, plugin daemon 768 MiB plus a Python process per installed plugin, beat
 * and sandbox 256 MiB each; the headroom absorbs spikes without any container hitting a hard limit.
 */
export class BackendService extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  /** The service by name and ARN, with no reference to the service resource (see BACKEND_ECS_SERVICE_NAME). */
  readonly target: BackendServiceTarget;

  constructor(scope: Construct, id: string, props: BackendServiceProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryMiB ?? 4096,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    props.bucket.grantReadWrite(this.taskDefinition.taskRole);
    const logging = (streamPrefix: string) => ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix });
    // Fargate Spot gives a two-minute warning but ECS waits only 30 s by default before SIGKILL; 120 s is the
    // Fargate maximum and lets Celery finish or re-queue its current tasks.
    const stopTimeout = Duration.seconds(120);
    const apiImage = props.images.difyApi;

    const sandbox = this.taskDefinition.addContainer('sandbox', {
      image: props.images.sandbox,
      environment: props.sandboxSettings.environment,
      secrets: ecsSecrets(props.sandboxSettings),
      portMappings: [{ containerPort: SANDBOX_PORT, name: 'sandbox' }],
      memoryReservationMiB: 256,
      essential: true,
      stopTimeout,
      logging: logging('sandbox'),
      healthCheck: {
        command: ['CMD-SHELL', `curl -f http://localhost:${SANDBOX_PORT}/health || exit 1`],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
    });

    const pluginDaemon = this.taskDefinition.addContainer('plugin-daemon', {
      image: props.images.pluginDaemon,
      environment: props.pluginDaemonSettings.environment,
      secrets: ecsSecrets(props.pluginDaemonSettings),
      portMappings: [{ containerPort: PLUGIN_DAEMON_PORT, name: 'plugin-daemon' }],
      memoryReservationMiB: 768,
      essential: true,
      stopTimeout,
      logging: logging('plugin-daemon'),
      healthCheck: httpHealthCheck(`http://localhost:${PLUGIN_DAEMON_PORT}/health/check`),
    });

    const apiImageContainer = (
      name: string,
      settings: ContainerSettings,
      memoryReservationMiB: number,
      healthCheck: ecs.HealthCheck,
      extraEnvironment: Record<string, string> = {},
      portMappings: ecs.PortMapping[] = [],
      runsCeleryWorker = false,
    ) =>
      this.taskDefinition.addContainer(name, {
        // Celery workers run Dify's app with our running-task hook for backend sleep (docs/adr/0018), started the way
        // Dify's entrypoint starts a worker (lib/constructs/celery-worker-command.ts).
        image: runsCeleryWorker ? props.images.difyWorker : apiImage,
        environment: { ...settings.environment, ...extraEnvironment },
        secrets: ecsSecrets(settings),
        ...(runsCeleryWorker
          ? celeryWorkerEntrypoint(settings)
          : entrypointWithTemplates(settings, DIFY_API_ENTRYPOINT)),
        memoryReservationMiB,
        essential: true,
        stopTimeout,
        logging: logging(name),
        healthCheck,
        portMappings,
      });

    const internalApi = apiImageContainer(
      INTERNAL_API_CONTAINER,
      props.internalApiSettings,
      768,
      httpHealthCheck(`http://localhost:${API_PORT}/health`),
      apiServerEnvironment(360, 1),
      [{ containerPort: API_PORT, name: INTERNAL_API_CONTAINER }],
    );
    // Celery workers with the gevent pool, as in Dify's compose file. On SIGTERM (a deploy or a Spot interruption)
    // Celery stops taking tasks and lets running ones finish until stopTimeout; Dify sets no acks_late, so a task
    // still running at SIGKILL is lost, not re-queued.
    const celeryWorker = (queues: readonly string[], concurrency: number) => ({
      CELERY_WORKER_CLASS: 'gevent',
      CELERY_AUTO_SCALE: 'false',
      CELERY_WORKER_AMOUNT: String(concurrency),
      CELERY_WORKER_QUEUES: queues.join(','),
    });
    const worker = apiImageContainer(
      'worker',
      props.workerSettings,
      1024,
      celeryProcessHealthCheck('worker'),
      celeryWorker(BACKGROUND_QUEUES, BACKGROUND_WORKER_CONCURRENCY),
      [],
      true,
    );
    const runWorker = apiImageContainer(
      'run-worker',
      props.runWorkerSettings,
      512,
      celeryProcessHealthCheck('worker'),
      celeryWorker(RUN_QUEUES, RUN_WORKER_CONCURRENCY),
      [],
      true,
    );
    const beat = apiImageContainer('beat', props.beatSettings, 256, celeryProcessHealthCheck('beat'));

    // The plugin daemon calls the internal api back; the workers and internal api call the sandbox and daemon.
    pluginDaemon.addContainerDependencies({ container: sandbox, condition: ecs.ContainerDependencyCondition.START });
    for (const dependent of [internalApi, worker, runWorker, beat]) {
      dependent.addContainerDependencies(
        { container: sandbox, condition: ecs.ContainerDependencyCondition.START },
        { container: pluginDaemon, condition: ecs.ContainerDependencyCondition.START },
      );
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.cluster.vpc,
      description: 'Dify backend task (worker, beat, plugin daemon, internal api, sandbox)',
      allowAllOutbound: true,
    });

    const spotWeight = props.spotWeight ?? 1;
    const onDemandBase = props.onDemandBase ?? 0;
    const onDemandWeight = props.onDemandWeight ?? 0;
    const capacityProviderStrategies: ecs.CapacityProviderStrategy[] = [];
    if (onDemandBase > 0 || onDemandWeight > 0) {
      capacityProviderStrategies.push({ capacityProvider: 'FARGATE', base: onDemandBase, weight: onDemandWeight });
    }
    if (spotWeight > 0) capacityProviderStrategies.push({ capacityProvider: 'FARGATE_SPOT', weight: spotWeight });

    if (props.enableExec) {
      // ECS Exec's SSM session channel actions (ssmmessages:*Channel) have no resource-level permissions.
      Validations.of(this.taskDefinition.taskRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ECS Exec (backend.enableExec): ssmmessages channel actions only accept "*" (ECS DG "ECS Exec").',
      });
    }
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      serviceName: BACKEND_ECS_SERVICE_NAME,
      taskDefinition: this.taskDefinition,
      // Without DesiredCount, CloudFormation starts a new service with 1 task and leaves the count of an existing one
      // as it is on every update (CloudFormation UG, AWS::ECS::Service, DesiredCount). FargateService passes an unset
      // desiredCount through as absent (aws-cdk-lib BaseServiceOptions.desiredCount; the feature flag
      // @aws-cdk/aws-ecs-patterns:removeDefaultDesiredCount concerns ecs-patterns only).
      desiredCount: props.sleeps ? undefined : 1,
      capacityProviderStrategies,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      // Stop the old task before starting its replacement: two tasks at once would run two Celery beats, and every
      // periodic task (schedule triggers included) would fire twice. Work queued meanwhile waits in Redis; running
      // tasks get stopTimeout to finish.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { rollback: true },
      enableExecuteCommand: props.enableExec ?? false,
      cloudMapOptions: {
        name: BACKEND_SERVICE_NAME,
        cloudMapNamespace: props.namespace,
        dnsRecordType: servicediscovery.DnsRecordType.A,
        dnsTtl: Duration.seconds(10),
      },
    });
    waitForCapacityProviders(this.service, props.cluster);
    const clusterName = props.cluster.clusterName;
    this.target = {
      clusterName,
      serviceName: BACKEND_ECS_SERVICE_NAME,
      serviceArn: Stack.of(this).formatArn({
        service: 'ecs',
        resource: 'service',
        resourceName: `${clusterName}/${BACKEND_ECS_SERVICE_NAME}`,
      }),
      shortName: `${clusterName}/${BACKEND_ECS_SERVICE_NAME}`,
    };
  }

  /** Lets `peer` (the api function) reach the sandbox and the plugin daemon, and nothing else. */
  allowApiClients(peer: ec2.IConnectable): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(SANDBOX_PORT), 'Dify api to dify-sandbox');
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(PLUGIN_DAEMON_PORT), 'Dify api to plugin daemon');
  }

  /**
   * The internal api container as a load balancer target (`uploads.mode: 'full'`, docs/adr/0019): Dify's api, so it
   * serves the upload routes. Once a load balancer is attached, ECS also replaces the task when the ALB's health
   * check fails (ECS DG "Health check grace period"); the grace period lets Dify's api boot on this shared task first,
   * as the container's own health check does (startPeriod plus retries).
   */
  internalApiTarget(): ecs.IEcsLoadBalancerTarget {
    const service = this.service.node.defaultChild as ecs.CfnService;
    service.healthCheckGracePeriodSeconds = INTERNAL_API_GRACE_PERIOD.toSeconds();
    return this.service.loadBalancerTarget({ containerName: INTERNAL_API_CONTAINER, containerPort: API_PORT });
  }

  /**
   * Keeps the plugin daemon's working directory (`containerPath`, its PLUGIN_WORKING_PATH) on `storage`, so that
   * installed plugins and their virtual environments survive a restart of this task (docs/adr/0020).
   */
  mountPluginStorage(storage: PluginStorage, containerPath: string = PLUGIN_WORKING_PATH): void {
    const container = this.taskDefinition.findContainer('plugin-daemon');
    if (!container) throw new Error('BackendService: the task has no plugin-daemon container');
    storage.mountIn({
      taskDefinition: this.taskDefinition,
      container,
      containerPath,
      peer: this.securityGroup,
      service: this.service,
    });
  }

  /** Lets `peer` (the upload relay) reach the plugin daemon's port only, for plugin endpoints (`/e/*`). */
  allowPluginEndpointClients(peer: ec2.IConnectable): void {
    this.securityGroup.connections.allowFrom(
      peer,
      ec2.Port.tcp(PLUGIN_DAEMON_PORT),
      'Upload relay to plugin daemon (plugin endpoints)',
    );
  }
}
