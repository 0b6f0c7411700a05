import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One reviewed cdk-nag finding: which rule, where (construct paths below the stack), and why it is accepted. */
interface NagAcknowledgement {
  readonly id: string;
  /** Matched against the construct path relative to its stack, e.g. `Network/Vpc/Resource`. */
  readonly paths: RegExp;
  readonly reason: string;
}

const LAMBDA_BASIC_EXECUTION =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const CUSTOM_RESOURCE_PATHS =
  /^(Database\/DatabaseInit|Migration\/(Migration|Provider)|Secrets\/SecretValues|LogRetention|AWS679f53fac002430cb0da5b7982bd2287)/;
const BUCKET_WILDCARDS = ['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'];

/**
 * Every acknowledged finding, each with its reason. Acknowledgements are attached to the construct that raised the
 * finding (never to a whole stack), so a new resource with the same weakness is still reported.
 */
const ACKNOWLEDGEMENTS: NagAcknowledgement[] = [
  // Network
  {
    id: 'AwsSolutions-EC23',
    paths: /^Network\/Vpc\/NatSecurityGroup\//,
    reason:
      'The NAT instance accepts traffic only from the VPC CIDR (a token cdk-nag cannot evaluate); no internet ingress.',
  },
  {
    id: 'AwsSolutions-EC26',
    paths: /^Network\/Vpc\/PublicSubnet1\/NatInstance\//,
    reason: 'The NAT instance root volume holds only the OS image; no application data is ever written to it.',
  },
  {
    id: 'AwsSolutions-EC28',
    paths: /^Network\/Vpc\/PublicSubnet1\/NatInstance\//,
    reason: 'Detailed monitoring would cost more than the t4g.nano NAT itself; basic 5-minute metrics suffice.',
  },
  {
    id: 'AwsSolutions-EC29',
    paths: /^Network\/Vpc\/PublicSubnet1\/NatInstance\//,
    reason: 'The NAT instance is stateless and replaced by CloudFormation; termination protection would block updates.',
  },
  // Data
  {
    id: 'AwsSolutions-RDS6',
    paths: /^Database\/Cluster\/Resource$/,
    reason: 'Dify and its plugin daemon connect with a password (from Secrets Manager); they cannot use IAM tokens.',
  },
  {
    id: 'AwsSolutions-RDS10',
    paths: /^Database\/Cluster\/Resource$/,
    reason:
      'Deletion protection is on by default; it is off only when the user sets retainData: false to let the stack delete the database.',
  },
  {
    id: 'AwsSolutions-SMG4',
    paths: /^(Database\/Cluster\/Secret|Secrets\/)/,
    reason:
      'Automatic rotation would break running Dify: every key and password is read at container start only, ' +
      'and a new SECRET_KEY signs everyone out. Rotate by hand with a redeploy (README "Operations").',
  },
  {
    id: 'AwsSolutions-SMG4',
    paths: /^SiteUrlSetting\/Setting\/Resource$/,
    reason:
      'Holds the public site URL, not a credential: there is nothing to rotate; the stack rewrites it when the URL changes.',
  },
  {
    id: 'AwsSolutions-AEC4',
    paths: /^Cache\/ReplicationGroup$/,
    reason: 'Single node for cost (low-traffic teams); it holds only Celery queue and caches, rebuilt on replacement.',
  },
  {
    id: 'AwsSolutions-S1',
    paths: /^Storage\/Bucket\/Resource$/,
    reason:
      'Access logs would need a second bucket and cost for small teams; access is via IAM roles only (no public).',
  },
  // Compute
  {
    id: 'AwsSolutions-ECS2',
    paths: /^(Backend|Migration|AlbFrontend)\/.*TaskDefinition\/Resource$|^AlbFrontend\/(Api|Web)Task\/Resource$/,
    reason: 'Only non-secret settings are environment variables; every secret is injected through ECS `secrets`.',
  },
  {
    id: 'AwsSolutions-ECS4',
    paths: /^Cluster\/Resource$/,
    reason:
      'Container Insights is billed per metric; the target is lowest idle cost. Service metrics remain available.',
  },
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    paths:
      /^(Backend|Migration)\/TaskDefinition\/ExecutionRole\/DefaultPolicy\/Resource$|^AlbFrontend\/(Api|Web)Task\/ExecutionRole\/DefaultPolicy\/Resource$/,
    reason:
      'Pulling the ECR copies of the images (docs/adr/0014) needs ecr:GetAuthorizationToken, which has no ' +
      'resource-level permission (ECR User Guide "Private repository policies"); the pull itself is scoped to the ' +
      'CDK assets repository.',
  },
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    paths: /^Api\/Role\/DefaultPolicy\/Resource$/,
    reason:
      'Lambda VPC ENI actions and logs:* need "*" (AWS Lambda DG "VPC permissions"); BatchGetSecretValue has no ' +
      'resource-level permission — GetSecretValue on each secret still restricts which values can be read.',
  },
  ...BUCKET_WILDCARDS.map((action) => ({
    id: `AwsSolutions-IAM5[Action::${action}]`,
    paths: /^(Api\/Role|Backend\/TaskDefinition\/TaskRole|AlbFrontend\/ApiTask\/TaskRole)\/DefaultPolicy\/Resource$/,
    reason: 'grantReadWrite on the one Dify bucket: Dify and the plugin daemon read, write and delete their files.',
  })),
  {
    id: 'AwsSolutions-IAM5[Resource::<StorageBucket5CB7C8EA.Arn>/*]',
    paths: /^(Api\/Role|Backend\/TaskDefinition\/TaskRole|AlbFrontend\/ApiTask\/TaskRole)\/DefaultPolicy\/Resource$/,
    reason: 'Objects of the Dify bucket only: Dify names objects at run time.',
  },
  // Custom resources (database init, migration) and the CDK Provider framework
  {
    id: LAMBDA_BASIC_EXECUTION,
    paths: CUSTOM_RESOURCE_PATHS,
    reason: 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes.',
  },
  {
    id: LAMBDA_BASIC_EXECUTION,
    paths: /^Web\/Function\/ServiceRole\/Resource$/,
    reason: 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes; the web function needs nothing else.',
  },
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    paths: /^(Migration\/MigrationCheckerFunction\/|LogRetention)/,
    reason:
      'ecs:DescribeTasks/StopTask are conditioned on ecs:cluster = this cluster (task ARNs are unknown in advance); ' +
      'the CDK log-retention helper must manage log groups it is given at run time.',
  },
  {
    id: 'AwsSolutions-L1',
    paths: /^(Database\/DatabaseInit|Migration\/Migration)/,
    reason: 'Node.js 24 is the newest runtime this CDK version knows; cdk-nag compares against a newer list.',
  },
  {
    id: 'AwsSolutions-SF1',
    paths: /^Migration\/Provider\/waiter-state-machine\//,
    reason: 'CDK Provider framework waiter; the handlers log every step themselves.',
  },
  {
    id: 'AwsSolutions-SF2',
    paths: /^Migration\/Provider\/waiter-state-machine\//,
    reason: 'CDK Provider framework waiter; X-Ray would add cost and no insight to a polling loop.',
  },
  // Bedrock Knowledge Bases External Knowledge API (docs/adr/0012)
  {
    id: LAMBDA_BASIC_EXECUTION,
    paths: /^BedrockKnowledge\/Function\/ServiceRole\/Resource$/,
    reason:
      'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes; Retrieve and the key secret are granted inline.',
  },
  {
    id: 'AwsSolutions-SMG4',
    paths: /^BedrockKnowledge\/ApiKey\/Resource$/,
    reason:
      'Dify stores the key in its own database when the External Knowledge API is registered; a rotation would ' +
      'break retrieval until someone pastes the new key into Dify. Rotate by hand (README "Bedrock Knowledge Bases").',
  },
  // Upload relay (docs/adr/0016)
  {
    id: LAMBDA_BASIC_EXECUTION,
    paths: /^UploadRelay\/Function\/ServiceRole\/Resource$/,
    reason:
      'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes; the api alias invoke and the two secrets are inline.',
  },
  {
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    paths: /^UploadRelay\/Function\/ServiceRole\/Resource$/,
    reason:
      'AWSLambdaVPCAccessExecutionRole only manages the network interfaces Lambda needs to run the relay in the VPC ' +
      '(it reaches the plugin daemon there); ec2:*NetworkInterface* have no resource-level scoping at create time.',
  },
  {
    id: 'AwsSolutions-SMG4',
    paths: /^UploadRelay\/OriginSecret\/Resource$/,
    reason:
      'CloudFront only picks up a new value on a stack update (a dynamic reference), so an automatic rotation would ' +
      'lock CloudFront out; the relay accepts current and previous values for the manual rotation in the README.',
  },
  // Internal ALBs behind a CloudFront VPC origin (lib/constructs/vpc-origin-load-balancer.ts)
  {
    id: 'AwsSolutions-IAM5[Resource::*]',
    paths: /^(AlbFrontend|FullSizeUploads)\/CloudFrontPrefixList\/CustomResourcePolicy\/Resource$/,
    reason:
      'ec2:DescribeManagedPrefixLists (the CloudFront origin-facing list id, read at deploy time) supports no ' +
      'resource-level permissions (Service Authorization Reference, Amazon EC2); it only reads prefix-list metadata.',
  },
  // ALB hosting (benchmark comparison mode)
  {
    id: 'AwsSolutions-ELB2',
    paths: /^AlbFrontend\/LoadBalancer\/Resource$/,
    reason:
      'The ALB mode exists for side-by-side benchmarks; access logs would add a bucket and cost to the comparison.',
  },
  // uploads.mode 'full' (docs/adr/0019)
  {
    id: 'AwsSolutions-ELB2',
    paths: /^FullSizeUploads\/LoadBalancer\/Resource$/,
    reason:
      'Only CloudFront reaches this internal ALB and CloudFront can log every request; ALB access logs would add a ' +
      'bucket and its cost to an option priced as one ALB.',
  },
  // Edge
  {
    id: 'AwsSolutions-CFR1',
    paths: /^Edge\/Distribution\/Resource$/,
    reason: 'Country restrictions are done in WAF (waf.allowedCountries), which also covers IP allow-lists.',
  },
  {
    id: 'AwsSolutions-CFR3',
    paths: /^Edge\/Distribution\/Resource$/,
    reason: 'Standard logs cost storage; WAF keeps sampled requests and metrics. Enable logging v2 when needed.',
  },
  {
    id: 'AwsSolutions-CFR4',
    paths: /^Edge\/Distribution\/Resource$/,
    reason:
      'Without a custom domain CloudFront uses its default certificate, whose policy cannot be changed; with ' +
      'domain.certificateArn set the distribution enforces TLSv1.2_2021.',
  },
  {
    id: 'AwsSolutions-IAM5[Resource::arn:aws:logs:*:*:log-group:/aws/lambda/us-east-1.*]',
    paths: /^PayloadSigner\/Role\/DefaultPolicy\/Resource$/,
    reason: 'Lambda@Edge replicas write logs in the region that served the request, under /aws/lambda/us-east-1.*.',
  },
  {
    id: 'AwsSolutions-L1',
    paths: /^PayloadSigner\/Function\/Resource$/,
    reason: 'Lambda@Edge supports fewer runtimes than Lambda; Node.js 22 is the newest it documents.',
  },
];

function relativePath(construct: IConstruct, stack: Stack): string {
  return construct.node.path.slice(stack.node.path.length + 1);
}

/** Attaches each acknowledgement to every matching construct in the given stacks. */
export function applyNagSuppressions(...stacks: Stack[]): void {
  for (const stack of stacks) {
    for (const construct of stack.node.findAll()) {
      const path = relativePath(construct, stack);
      for (const ack of ACKNOWLEDGEMENTS) {
        if (ack.paths.test(path)) Validations.of(construct).acknowledge({ id: ack.id, reason: ack.reason });
      }
    }
  }
}

/**
 * The CDK Provider framework lets its own functions (and the waiter state machine) invoke the handler functions
 * and their versions (`<arn>:*`). The finding names each function's logical ID, so it is acknowledged by name.
 */
export function acknowledgeProviderInvokes(provider: IConstruct, invoked: IConstruct[]): void {
  for (const fn of invoked) {
    const resource = fn.node.defaultChild as CfnElement;
    const logicalId = Stack.of(fn).resolve(resource.logicalId) as string;
    Validations.of(provider).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      reason: 'CDK Provider framework: may invoke this handler function and its versions, nothing else.',
    });
  }
}
