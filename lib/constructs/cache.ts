import { SecretValue } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';

export interface CacheProps {
  readonly vpc: ec2.IVpc;
  /** AUTH token, as a dynamic reference to a secret so the value never appears in the template. */
  readonly authToken: SecretValue;
  /**
   * Node type.
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;
}

/**
 * A single-node ElastiCache Valkey replication group with TLS and AUTH. Node-based on purpose: Celery's Redis
 * transport issues multi-key commands that ElastiCache Serverless (always cluster mode) rejects with CROSSSLOT.
 * It holds Celery's queue and Dify's caches; both are rebuilt by Dify, so no final snapshot is kept.
 */
export class Cache extends Construct {
  static readonly PORT = 6379;
  readonly securityGroup: ec2.SecurityGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Dify Valkey (Redis protocol, TLS)',
      allowAllOutbound: false,
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Dify Valkey private subnets',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Dify Celery broker and caches',
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      numCacheClusters: 1,
      automaticFailoverEnabled: false,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: props.authToken.unsafeUnwrap(),
      port: Cache.PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
    });
  }

  get host(): string {
    return this.replicationGroup.attrPrimaryEndPointAddress;
  }

  /** Lets `peer` reach Valkey. */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(Cache.PORT), description);
  }
}
