import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { API_PORT, ContainerSettings, WEB_PORT, apiServerEnvironment } from '../dify-environment';
import { DIFY_API_ENTRYPOINT } from './backend-service';
import { ContainerImages } from './container-images';
import { API_PATH_PATTERNS, DistributionOrigins } from './distribution';
import { ecsSecrets, entrypointWithTemplates, httpHealthCheck, waitForCapacityProviders } from './ecs-settings';
import { VpcOriginLoadBalancer } from './vpc-origin-load-balancer';

export interface AlbFrontendProps {
  readonly cluster: ecs.ICluster;
  /** Where the api and web images come from (the account's ECR). */
  readonly images: ContainerImages;
  readonly apiSettings: ContainerSettings;
  readonly webSettings: ContainerSettings;
  /**
   * CloudFront's response timeout for the load balancer origin (api and web share it).
   * @default API_READ_TIMEOUT (60 s)
   */
  readonly readTimeout?: Duration;
  readonly bucket: s3.IBucket;
  /**
   * Fargate size of the api service (CPU units / MiB).
   * @default { cpu: 1024, memoryMiB: 2048 }
   */
  readonly apiSize?: { cpu: number; memoryMiB: number };
  /**
   * Fargate size of the web service.
   * @default { cpu: 256, memoryMiB: 512 }
   */
  readonly webSize?: { cpu: number; memoryMiB: number };
}

/**
 * The classic design, kept so it can be benchmarked against the Lambda front on the same data layer and backend:
 * api and web on Fargate behind an INTERNAL Application Load Balancer that CloudFront reaches through a VPC origin,
 * so nothing but CloudFront can reach it.
 */
export class AlbFrontend extends Construct {
  readonly apiService: ecs.FargateService;
  readonly webService: ecs.FargateService;
  readonly apiSecurityGroup: ec2.SecurityGroup;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly origins: DistributionOrigins;

  constructor(scope: Construct, id: string, props: AlbFrontendProps) {
    super(scope, id);
    const vpc = props.cluster.vpc;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const apiSize = props.apiSize ?? { cpu: 1024, memoryMiB: 2048 };
    const webSize = props.webSize ?? { cpu: 256, memoryMiB: 512 };

    const apiTask = new ecs.FargateTaskDefinition(this, 'ApiTask', {
      cpu: apiSize.cpu,
      memoryLimitMiB: apiSize.memoryMiB,
    });
    props.bucket.grantReadWrite(apiTask.taskRole);
    apiTask.addContainer('api', {
      image: props.images.difyApi,
      environment: { ...props.apiSettings.environment, ...apiServerEnvironment(360, 2) },
      secrets: ecsSecrets(props.apiSettings),
      ...entrypointWithTemplates(props.apiSettings, DIFY_API_ENTRYPOINT),
      portMappings: [{ containerPort: API_PORT }],
      stopTimeout: Duration.seconds(120),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'api' }),
      healthCheck: httpHealthCheck(`http://localhost:${API_PORT}/health`),
    });
    const webTask = new ecs.FargateTaskDefinition(this, 'WebTask', {
      cpu: webSize.cpu,
      memoryLimitMiB: webSize.memoryMiB,
    });
    webTask.addContainer('web', {
      image: props.images.difyWeb,
      environment: props.webSettings.environment,
      secrets: ecsSecrets(props.webSettings),
      portMappings: [{ containerPort: WEB_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'web' }),
    });

    this.apiSecurityGroup = new ec2.SecurityGroup(this, 'ApiSecurityGroup', {
      vpc,
      description: 'Dify api service (ALB hosting)',
    });
    const webSecurityGroup = new ec2.SecurityGroup(this, 'WebSecurityGroup', {
      vpc,
      description: 'Dify web service (ALB hosting)',
    });
    const service = (name: string, taskDefinition: ecs.FargateTaskDefinition, sg: ec2.SecurityGroup) => {
      const created = new ecs.FargateService(this, name, {
        cluster: props.cluster,
        taskDefinition,
        desiredCount: 1,
        // The front serves users: on-demand, like the published ALB design it is compared with.
        capacityProviderStrategies: [{ capacityProvider: 'FARGATE', weight: 1 }],
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [sg],
        minHealthyPercent: 100,
        circuitBreaker: { rollback: true },
      });
      waitForCapacityProviders(created, props.cluster);
      return created;
    };
    this.apiService = service('ApiService', apiTask, this.apiSecurityGroup);
    this.webService = service('WebService', webTask, webSecurityGroup);

    // The internal ALB, its CloudFront-only security group and its VPC origin are shared with `uploads.mode: 'full'`.
    const front = new VpcOriginLoadBalancer(this, {
      vpc,
      description: 'Dify internal ALB, reached only by the CloudFront VPC origin',
      readTimeout: props.readTimeout,
    });
    this.loadBalancer = front.loadBalancer;
    const listener = front.addListener('Http');
    listener.addTargets('Web', {
      port: WEB_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.webService],
      healthCheck: { path: '/apps', healthyHttpCodes: '200-399' },
      deregistrationDelay: Duration.seconds(10),
    });
    const apiTargets = new elbv2.ApplicationTargetGroup(this, 'ApiTargets', {
      vpc,
      port: API_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.apiService],
      healthCheck: { path: '/health', healthyHttpCodes: '200' },
      deregistrationDelay: Duration.seconds(30),
    });
    // A listener rule takes at most five path patterns (ELB quotas), so the six api prefixes need two rules.
    for (let i = 0; i < API_PATH_PATTERNS.length; i += 5) {
      listener.addTargetGroups(`ApiRule${i / 5}`, {
        priority: 10 + i / 5,
        conditions: [elbv2.ListenerCondition.pathPatterns(API_PATH_PATTERNS.slice(i, i + 5))],
        targetGroups: [apiTargets],
      });
    }

    this.origins = { api: front.origin, web: front.origin, signedLambdaOrigins: false };
  }
}
