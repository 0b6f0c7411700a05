import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { RELAY_API_PATH_PATTERNS } from '../../functions/upload-relay/routes';
import { API_PORT } from '../dify-environment';
import { BackendService } from './backend-service';
import { VpcOriginLoadBalancer } from './vpc-origin-load-balancer';

/**
 * Path patterns per listener rule: a rule takes at most five condition values and five wildcards (Elastic Load
 * Balancing "Quotas for your Application Load Balancers", "Condition values per rule", "Wildcards per rule").
 */
const PATTERNS_PER_RULE = 5;

/** First listener-rule priority of the upload routes. */
const FIRST_RULE_PRIORITY = 10;

/** What the load balancer answers for any path that is not an upload route: the viewer function's 404 shape. */
const NOT_FOUND_BODY = '{"error":"not_found"}';

export interface FullSizeUploadsProps {
  readonly vpc: ec2.IVpc;
  /** The backend task, whose internal api container serves the uploads. */
  readonly backend: BackendService;
  /**
   * CloudFront's response timeout for the VPC origin (a large document is parsed only after the upload; the
   * response comes once the file is stored).
   * @default API_READ_TIMEOUT (60 s)
   */
  readonly readTimeout?: Duration;
}

/**
 * `uploads.mode: 'full'` (docs/adr/0019): Dify's upload routes at Dify's own limits, through a CloudFront VPC origin
 * and an internal ALB (the same pieces as `hosting: 'alb'`, lib/constructs/vpc-origin-load-balancer.ts) to the
 * backend task's internal api container on port 5001, which runs Dify's api.
 *
 * The listener forwards exactly the relay's upload patterns (functions/upload-relay/routes.ts, which CloudFront uses
 * for these behaviours as well, and ALB path patterns use the same `*` and `?` wildcards, case-sensitive) and answers
 * 404 to everything else, so neither the internal api's other routes (the plugin daemon's `/inner/api/*`) nor the
 * plugin daemon are reachable through it. Plugin endpoints (`/e/*`) stay on the upload relay.
 *
 * The backend task may be asleep (`backend.sleep`, docs/adr/0018): with no registered target the ALB answers 503,
 * and an upload wakes nothing by itself; the api requests around it (opening the console or the app) do.
 */
export class FullSizeUploads extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly securityGroup: ec2.SecurityGroup;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The VPC origin CloudFront sends the upload routes to. */
  readonly origin: cloudfront.IOrigin;

  constructor(scope: Construct, id: string, props: FullSizeUploadsProps) {
    super(scope, id);
    const front = new VpcOriginLoadBalancer(this, {
      vpc: props.vpc,
      description: 'Dify full-size uploads: internal ALB, reached only by the CloudFront VPC origin',
      readTimeout: props.readTimeout,
    });
    this.loadBalancer = front.loadBalancer;
    this.securityGroup = front.securityGroup;
    this.origin = front.origin;

    // Registering the service opens the backend's security group to the ALB's on port 5001 only, and the ALB's
    // (no default egress) to the backend on that port.
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'InternalApiTargets', {
      vpc: props.vpc,
      port: API_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [props.backend.internalApiTarget()],
      healthCheck: { path: '/health', healthyHttpCodes: '200' },
      // An upload in flight has as long as CloudFront waits for it.
      deregistrationDelay: Duration.seconds(60),
    });
    const listener = front.addListener(
      'Http',
      elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: NOT_FOUND_BODY }),
    );
    for (let i = 0; i < RELAY_API_PATH_PATTERNS.length; i += PATTERNS_PER_RULE) {
      const rule = i / PATTERNS_PER_RULE;
      listener.addTargetGroups(`UploadRule${rule}`, {
        priority: FIRST_RULE_PRIORITY + rule,
        conditions: [elbv2.ListenerCondition.pathPatterns(RELAY_API_PATH_PATTERNS.slice(i, i + PATTERNS_PER_RULE))],
        targetGroups: [this.targetGroup],
      });
    }
  }
}
