import { Duration, Validations } from 'aws-cdk-lib';
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
  SANDBOX_PORT,
  apiServerEnvironment,
} from '../dify-environment';
import { celeryProcessHealthCheck, ecsSecrets, entrypointWithTemplates, httpHealthCheck } from './ecs-settings';

/** Dify's api image entrypoint (langgenius/dify-api: ENTRYPOINT ["/bin/bash", "/entrypoint.sh"]). */
export const DIFY_API_ENTRYPOINT = '/bin/bash /entrypoint.sh';

export interface BackendServiceProps {
  readonly cluster: ecs.ICluster;
  readonly namespace: servicediscovery.IPrivateDnsNamespace;
  readonly difyVersion: string;
  readonly pluginDaemonVersion: string;
  readonly sandboxVersion: string;
  readonly workerSettings: ContainerSettings;
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
}

/** Cloud Map name of the backend task: `backend.<namespace>`. */
export const BACKEND_SERVICE_NAME = 'backend';

/**
 * Dify's always-on back end as ONE Fargate (Spot) task: Celery worker and beat, the plugin daemon, an internal api
 * for the plugin daemon's callbacks, and dify-sandbox. One task means one ENI, one Spot price and localhost between
 * the parts (docs/adr/0004). The api on Lambda reaches the sandbox and plugin daemon at `backend.<namespace>`.
 *
 * Memory reservations (soft) add up to 3 GiB of the default 4 GiB: worker 1 GiB (gevent, document parsing),
 * internal api 768 MiB, plugin daemon 768 MiB plus a Python process per installed plugin, beat and sandbox 256 MiB
 * each; the headroom absorbs spikes without any container hitting a hard limit.
 */
export class BackendService extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;

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
    const apiImage = ecs.ContainerImage.fromRegistry(`langgenius/dify-api:${props.difyVersion}`);

    const sandbox = this.taskDefinition.addContainer('sandbox', {
      image: ecs.ContainerImage.fromRegistry(`langgenius/dify-sandbox:${props.sandboxVersion}`),
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
      image: ecs.ContainerImage.fromRegistry(`langgenius/dify-plugin-daemon:${props.pluginDaemonVersion}`),
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
    ) =>
      this.taskDefinition.addContainer(name, {
        image: apiImage,
        environment: { ...settings.environment, ...extraEnvironment },
        secrets: ecsSecrets(settings),
        ...entrypointWithTemplates(settings, DIFY_API_ENTRYPOINT),
        memoryReservationMiB,
        essential: true,
        stopTimeout,
        logging: logging(name),
        healthCheck,
        portMappings,
      });

    const internalApi = apiImageContainer(
      'internal-api',
      props.internalApiSettings,
      768,
      httpHealthCheck(`http://localhost:${API_PORT}/health`),
      apiServerEnvironment(360, 1),
      [{ containerPort: API_PORT, name: 'internal-api' }],
    );
    const worker = apiImageContainer('worker', props.workerSettings, 1024, celeryProcessHealthCheck('worker'), {
      // Celery's worker: gevent pool like Dify's compose file, and a clean warm shutdown on SIGTERM.
      CELERY_WORKER_CLASS: 'gevent',
      CELERY_AUTO_SCALE: 'false',
      CELERY_WORKER_AMOUNT: '4',
    });
    const beat = apiImageContainer('beat', props.beatSettings, 256, celeryProcessHealthCheck('beat'));

    // The plugin daemon calls the internal api back; the worker and internal api call the sandbox and daemon.
    pluginDaemon.addContainerDependencies({ container: sandbox, condition: ecs.ContainerDependencyCondition.START });
    for (const dependent of [internalApi, worker, beat]) {
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
      taskDefinition: this.taskDefinition,
      desiredCount: 1,
      capacityProviderStrategies,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      // Start the replacement before stopping the old task, so queued work is always being consumed.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      enableExecuteCommand: props.enableExec ?? false,
      cloudMapOptions: {
        name: BACKEND_SERVICE_NAME,
        cloudMapNamespace: props.namespace,
        dnsRecordType: servicediscovery.DnsRecordType.A,
        dnsTtl: Duration.seconds(10),
      },
    });
  }

  /** Lets `peer` (the api function) reach the sandbox and the plugin daemon, and nothing else. */
  allowApiClients(peer: ec2.IConnectable): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(SANDBOX_PORT), 'Dify api to dify-sandbox');
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(PLUGIN_DAEMON_PORT), 'Dify api to plugin daemon');
  }
}
