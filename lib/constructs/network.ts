import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { NatChoice } from '../config';

export interface NetworkProps {
  /**
   * NAT for the private subnets.
   * @default 'instance'
   */
  readonly nat?: NatChoice;
}

/**
 * Two-AZ VPC with public and private subnets. Egress goes through one NAT (a t4g.nano instance by default: ≈ $3/month
 * against ≈ $33 for a NAT gateway). S3 traffic uses a free gateway endpoint, which also keeps Dify's head_bucket call
 * at api start-up off the NAT path (DESIGN.md, cold start lever 3).
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const natInstance =
      (props.nat ?? 'instance') === 'instance'
        ? ec2.NatProvider.instanceV2({
            instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
            machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
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
  }

  /** The private subnets every Dify workload runs in. */
  get privateSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
