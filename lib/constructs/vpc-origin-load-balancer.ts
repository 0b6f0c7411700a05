import { Aspects, Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import { waitForRolePolicies } from '../custom-resource-permissions';
import { API_READ_TIMEOUT } from './distribution';

/**
 * The AWS-managed prefix list of CloudFront's origin-facing addresses (Amazon VPC User Guide "AWS-managed prefix
 * lists": `com.amazonaws.global.cloudfront.origin-facing`). CloudFront DG "Restrict access with VPC origins" has the
 * origin's security group allow this list (or the `CloudFront-VPCOrigins-Service-SG` group that CloudFront creates
 * only after the first VPC origin exists, so a template cannot reference it).
 */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = 'com.amazonaws.global.cloudfront.origin-facing';

/** The one port CloudFront reaches the internal load balancer on (HTTP, see {@link VpcOriginLoadBalancer}). */
export const VPC_ORIGIN_LISTENER_PORT = 80;

export interface VpcOriginLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** Description of the load balancer's security group. */
  readonly description: string;
  /**
   * CloudFront's response timeout for the VPC origin.
   * @default API_READ_TIMEOUT (60 s)
   */
  readonly readTimeout?: Duration;
}

/**
 * An INTERNAL Application Load Balancer in the private subnets that only CloudFront reaches, through a VPC origin
 * (CloudFront DG "Restrict access with VPC origins"). Shared by `hosting: 'alb'` (lib/constructs/alb-frontend.ts)
 * and `uploads.mode: 'full'` (lib/constructs/full-size-uploads.ts). The children keep the ids the ALB hosting mode
 * has always used (`LoadBalancerSecurityGroup`, `LoadBalancer`), so an existing ALB is not replaced.
 *
 * Its security group accepts port 80 from CloudFront's origin-facing prefix list and nothing else, and sends only
 * what target registrations open (no default egress). The prefix-list id differs per region, so it is looked up at
 * deploy time (ec2:DescribeManagedPrefixLists) instead of at synth time, which keeps `npm run synth` offline. The
 * list counts as its maximum number of entries toward the security group's rule quota (Amazon VPC User Guide
 * "Reference prefix lists in your AWS resources"), which this one-rule group has room for.
 *
 * CloudFront to ALB is plain HTTP: it stays inside AWS (from CloudFront's service network into this VPC's private
 * subnets) and there is no certificate to present: the site's certificate is for a public name in us-east-1 (or
 * none, with the `*.cloudfront.net` name), while an ALB needs a regional ACM certificate for a name it serves.
 */
export class VpcOriginLoadBalancer {
  readonly securityGroup: ec2.SecurityGroup;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The deploy-time id of {@link CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST} in the stack's region. */
  readonly prefixListId: string;
  /** The CloudFront origin: a VPC origin for the load balancer, HTTP only. */
  readonly origin: cloudfront.IOrigin;

  constructor(scope: Construct, props: VpcOriginLoadBalancerProps) {
    const lookup = new cr.AwsCustomResource(scope, 'CloudFrontPrefixList', {
      onUpdate: {
        service: 'EC2',
        action: 'describeManagedPrefixLists',
        parameters: { Filters: [{ Name: 'prefix-list-name', Values: [CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST] }] },
        physicalResourceId: cr.PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST),
        outputPaths: ['PrefixLists.0.PrefixListId'],
      },
      // ec2:Describe* actions support no resource-level permissions (Service Authorization Reference, Amazon EC2).
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    this.prefixListId = lookup.getResponseField('PrefixLists.0.PrefixListId');
    // Every AwsCustomResource in a stack shares one provider role, and others (the site URL's) add their policies to
    // it later in the tree: wait for all of them once the tree is complete (lib/custom-resource-permissions.ts).
    const lookupResource = lookup.node.defaultChild;
    const role = lookup.grantPrincipal;
    if (!lookupResource || !(role instanceof iam.Role)) {
      throw new Error('VpcOriginLoadBalancer: AwsCustomResource no longer exposes its custom resource and role');
    }
    Aspects.of(lookup).add({
      visit: (node: IConstruct) => {
        if (node === lookupResource) waitForRolePolicies(lookupResource, role);
      },
    });

    this.securityGroup = new ec2.SecurityGroup(scope, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      description: props.description,
      allowAllOutbound: false,
    });
    this.securityGroup.addIngressRule(
      ec2.Peer.prefixList(this.prefixListId),
      ec2.Port.tcp(VPC_ORIGIN_LISTENER_PORT),
      'CloudFront VPC origin (origin-facing prefix list)',
    );
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(scope, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.securityGroup,
      // SSE streams idle between pings; CloudFront itself waits at most 60 s.
      idleTimeout: Duration.seconds(120),
      dropInvalidHeaderFields: true,
    });
    this.origin = origins.VpcOrigin.withApplicationLoadBalancer(this.loadBalancer, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      httpPort: VPC_ORIGIN_LISTENER_PORT,
      readTimeout: props.readTimeout ?? API_READ_TIMEOUT,
    });
  }

  /** The HTTP listener CloudFront's VPC origin connects to; not opened to anything beyond the prefix-list rule. */
  addListener(id: string, defaultAction?: elbv2.ListenerAction): elbv2.ApplicationListener {
    return this.loadBalancer.addListener(id, { port: VPC_ORIGIN_LISTENER_PORT, open: false, defaultAction });
  }
}
