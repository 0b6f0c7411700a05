import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { NatChoice } from '../config';

/** Warning id when the NAT instance AMI cannot be pinned (account-agnostic synth). */
export const NAT_AMI_NOT_PINNED_WARNING = 'dify-edge:natAmiNotPinned';

export interface NetworkProps {
  /**
   * NAT for the private subnets.
   * @default 'instance'
   */
  readonly nat?: NatChoice;
}

/**
 * Two-AZ VPC with public and private subnets. Egress goes through one NAT (a t4g.nano instance by default: ≈ $3/month
 * against ≈ $33 for a NAT gateway) with an Elastic IP, so every outbound call (LLM providers, plugin marketplace)
 * comes from one address that users can allow-list. S3 traffic uses a free gateway endpoint, which also keeps Dify's
 * head_bucket call at api start-up off the NAT path.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Public IPv4 address all outbound internet traffic leaves from (the NAT's Elastic IP). */
  readonly egressIp: string;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const natInstance =
      (props.nat ?? 'instance') === 'instance'
        ? ec2.NatProvider.instanceV2({
            instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
            machineImage: this.natMachineImage(),
            defaultAllowedTraffic: ec2.NatTrafficDirection.OUTBOUND_ONLY,
          })
        : undefined;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      natGatewayProvider: natInstance ?? ec2.NatProvider.gateway(),
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      // Rejected flows only: the ones that explain "why can't X reach Y", at a fraction of the cost of ALL.
      flowLogs: {
        Rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.TWO_WEEKS }),
          ),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
    // instanceV2 with OUTBOUND_ONLY accepts nothing; the private subnets are the only clients it should serve.
    natInstance?.securityGroup.addIngressRule(
      ec2.Peer.ipv4(this.vpc.vpcCidrBlock),
      ec2.Port.allTraffic(),
      'NAT for the private subnets of this VPC',
    );

    if (natInstance) {
      const [instance] = natInstance.gatewayInstances;
      // A changed InstanceId reassociates the same address instead of replacing the EIP (CloudFormation template
      // reference "AWS::EC2::EIP"): when the instance is replaced (a new AMI), the address moves to the new one. It
      // takes the place of the address the public subnet assigns at launch: still one public IPv4 address to pay.
      const eip = new ec2.CfnEIP(this, 'NatInstanceEip', { domain: 'vpc', instanceId: instance.instanceId });
      // The same page: an EIP for a VPC in the same template must depend on the internet gateway attachment.
      const attachment = this.vpc.node.tryFindChild('VPCGW');
      if (!(attachment instanceof ec2.CfnVPCGatewayAttachment))
        throw new Error('Network: no internet gateway attachment');
      eip.node.addDependency(attachment);
      this.egressIp = eip.attrPublicIp;
    } else {
      // The gateway provider gives its NAT gateway an EIP of its own, kept for the gateway's lifetime.
      const eip = this.vpc.publicSubnets
        .map((subnet) => subnet.node.tryFindChild('EIP'))
        .find((child): child is ec2.CfnEIP => child instanceof ec2.CfnEIP);
      if (!eip) throw new Error('Network: the NAT gateway has no Elastic IP to report');
      this.egressIp = eip.attrPublicIp;
    }
  }

  /**
   * Amazon Linux 2023 (arm64) for the NAT instance, pinned so that a newly published AMI never replaces the instance
   * on an unrelated deploy. With an account in the stack's environment (always on `cdk deploy`, where the CLI sets
   * CDK_DEFAULT_ACCOUNT), the AMI id is looked up once from the public SSM parameter and stored in cdk.context.json;
   * later synths reuse it until the entry is reset (README "Upgrading"). A lookup needs an account, so an
   * account-agnostic synth (offline, no credentials) falls back to resolving the parameter at deploy time, which
   * picks up new AMIs, and says so.
   */
  private natMachineImage(): ec2.IMachineImage {
    const pinned = !Token.isUnresolved(Stack.of(this).account);
    if (!pinned) {
      Annotations.of(this).addWarningV2(
        NAT_AMI_NOT_PINNED_WARNING,
        'The stack has no account, so the NAT instance AMI is not pinned: the template resolves the latest ' +
          'Amazon Linux 2023 AMI at deploy time, and a deploy after a new AMI ships replaces the NAT instance ' +
          '(the Elastic IP stays). `cdk deploy` sets the account and pins it in cdk.context.json; to pin it here, ' +
          'set "account" in dify-edge.config.json or CDK_DEFAULT_ACCOUNT.',
      );
    }
    return ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64, cachedInContext: pinned });
  }

  /** The private subnets every Dify workload runs in. */
  get privateSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
