import { PROFILES } from '../../bench/cost/model';
import { DEFAULT_CONFIG, stackNames } from '../../lib/config';
import {
  CfnTemplate,
  SynthesizedTemplates,
  at,
  dependsOn,
  flatten,
  outputTarget,
  outputValue,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  onlyResource,
  synthTemplates,
} from './template-helpers';

/** The logical ID of Dify's one shared secret, read from the DifySecretArn output. */
function difySecretId(template: CfnTemplate): string {
  return outputTarget(template, 'DifySecretArn');
}

/** The generated secret behind the cluster's SecretTargetAttachment (the DatabaseSecretArn output). */
function databaseSecretId(template: CfnTemplate): string {
  const attachment = resource(template, outputTarget(template, 'DatabaseSecretArn'));
  expect(attachment.Type).toBe('AWS::SecretsManager::SecretTargetAttachment');
  const secretId = refId(propsOf(attachment).SecretId);
  if (!secretId) throw new Error('the secret attachment does not reference a secret');
  return secretId;
}

function privateSubnetIds(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::EC2::Subnet')
    .filter(([, subnet]) => propsOf(subnet).MapPublicIpOnLaunch === false)
    .map(([id]) => id);
}

/** The route table of each private subnet, and that table's default route. */
function privateDefaultRoutes(template: CfnTemplate): Array<Record<string, unknown>> {
  const privateSubnets = new Set(privateSubnetIds(template));
  const privateTables = new Set(
    resourcesOfType(template, 'AWS::EC2::SubnetRouteTableAssociation')
      .filter(([, association]) => privateSubnets.has(refId(propsOf(association).SubnetId) ?? ''))
      .map(([, association]) => refId(propsOf(association).RouteTableId)),
  );
  return resourcesOfType(template, 'AWS::EC2::Route')
    .map(([, route]) => propsOf(route))
    .filter((route) => privateTables.has(refId(route.RouteTableId)) && route.DestinationCidrBlock === '0.0.0.0/0');
}

describe('foundation with the default configuration', () => {
  let synth: SynthesizedTemplates;
  let regional: CfnTemplate;

  beforeAll(() => {
    synth = synthTemplates();
    regional = synth.regional;
  });
  afterAll(removeSynthOutputs);

  test('the edge stack is in us-east-1 and the regional stack in ap-northeast-1, deployed after the edge stack', () => {
    const { edge, regional: regionalStack } = synth.synthesized;
    const names = stackNames(DEFAULT_CONFIG);
    expect(edge.stackName).toBe(names.edge);
    expect(edge.region).toBe('us-east-1');
    expect(regionalStack.stackName).toBe(names.regional);
    expect(regionalStack.region).toBe('ap-northeast-1');
    expect(regionalStack.dependencies).toContain(edge);
  });

  test('the VPC spans two AZs with a public and a private subnet in each', () => {
    onlyResource(regional, 'AWS::EC2::VPC');
    const subnets = resourcesOfType(regional, 'AWS::EC2::Subnet').map(([, subnet]) => propsOf(subnet));
    expect(subnets).toHaveLength(4);
    const byKind = (isPublic: boolean) =>
      subnets.filter((s) => s.MapPublicIpOnLaunch === isPublic).map((s) => JSON.stringify(s.AvailabilityZone));
    for (const kind of [true, false]) {
      const zones = byKind(kind);
      expect(zones).toHaveLength(2);
      expect(new Set(zones).size).toBe(2);
    }
    expect(new Set(byKind(true))).toEqual(new Set(byKind(false)));
  });

  test('egress goes through one t4g.nano NAT instance, not a NAT gateway', () => {
    expect(resourcesOfType(regional, 'AWS::EC2::NatGateway')).toHaveLength(0);
    const [natId, nat] = onlyResource(regional, 'AWS::EC2::Instance');
    expect(propsOf(nat).InstanceType).toBe('t4g.nano');
    expect(propsOf(nat).SourceDestCheck).toBe(false);
    const routes = privateDefaultRoutes(regional);
    expect(routes).toHaveLength(2);
    for (const route of routes) expect(refId(route.InstanceId)).toBe(natId);
  });

  test('S3 is reached through a gateway endpoint on the private route tables', () => {
    const endpoints = resourcesOfType(regional, 'AWS::EC2::VPCEndpoint').map(([, e]) => propsOf(e));
    const s3 = endpoints.filter((e) => flatten(e.ServiceName).endsWith('.s3'));
    expect(s3).toHaveLength(1);
    expect(s3[0].VpcEndpointType).toBe('Gateway');
    const tables = (s3[0].RouteTableIds as unknown[]).map(refId);
    for (const route of privateDefaultRoutes(regional)) expect(tables).toContain(refId(route.RouteTableId));
  });

  test('Aurora Serverless v2 PostgreSQL 16 scales 0-2 ACU with auto-pause, encrypted, with the Data API', () => {
    const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const p = propsOf(cluster);
    expect(p.Engine).toBe('aurora-postgresql');
    expect(p.EngineVersion).toBe('16'); // major only (test/stacks/database-versions.test.ts)
    expect(p.ServerlessV2ScalingConfiguration).toEqual({
      MinCapacity: 0,
      MaxCapacity: 2,
      SecondsUntilAutoPause: DEFAULT_CONFIG.database.autoPauseSeconds,
    });
    expect(p.StorageEncrypted).toBe(true);
    expect(p.EnableHttpEndpoint).toBe(true);
    expect(p.DatabaseName).toBe('dify');
    const [, writer] = onlyResource(regional, 'AWS::RDS::DBInstance');
    expect(propsOf(writer).DBInstanceClass).toBe('db.serverless');
  });

  test('the master password is a dynamic reference to a generated Secrets Manager secret', () => {
    const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const secretId = databaseSecretId(regional);
    expect(flatten(propsOf(cluster).MasterUserPassword)).toBe(
      `{{resolve:secretsmanager:<Ref:${secretId}>:SecretString:password::}}`,
    );
    const secret = propsOf(resource(regional, secretId));
    expect(secret.SecretString).toBeUndefined();
    expect(at(secret, 'GenerateSecretString', 'GenerateStringKey')).toBe('password');
  });

  test('retainData (default) protects the cluster and snapshots it on delete', () => {
    const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
    expect(propsOf(cluster).DeletionProtection).toBe(true);
    expect(cluster.DeletionPolicy).toBe('Snapshot');
    expect(cluster.UpdateReplacePolicy).toBe('Snapshot');
  });

  // A snapshot restored without its master password is a chore: the generated secret must outlive the stack too.
  test('retainData (default) also keeps the database secret, the only copy of the master password', () => {
    const secret = resource(regional, databaseSecretId(regional));
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.UpdateReplacePolicy).toBe('Retain');
  });

  test('the vector and plugin databases are created by Custom::DifyDatabases on this cluster', () => {
    const [clusterId] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const [, databases] = onlyResource(regional, 'Custom::DifyDatabases');
    const p = propsOf(databases);
    expect(p.Databases).toEqual(['dify_pgvector', 'dify_plugin']);
    expect(p.VectorDatabase).toBe('dify_pgvector');
    expect(flatten(p.ClusterArn)).toContain(`:cluster:<Ref:${clusterId}>`);
    expect(refId(p.SecretArn)).toBe(outputTarget(regional, 'DatabaseSecretArn'));
  });

  test('Valkey is one encrypted node with an AUTH token read from Secrets Manager at deploy time', () => {
    const [, group] = onlyResource(regional, 'AWS::ElastiCache::ReplicationGroup');
    const p = propsOf(group);
    expect(p.Engine).toBe('valkey');
    expect(p.TransitEncryptionEnabled).toBe(true);
    expect(p.AtRestEncryptionEnabled).toBe(true);
    expect(p.NumCacheClusters).toBe(1);
    expect(p.CacheNodeType).toBe(DEFAULT_CONFIG.redisNodeType);
    const token = flatten(p.AuthToken);
    expect(token).toMatch(/^\{\{resolve:secretsmanager:<Ref:(\w+)>:SecretString:redisAuthToken::\}\}$/);
    const tokenSecretId = /<Ref:(\w+)>/.exec(token)?.[1] ?? '';
    expect(tokenSecretId).toBe(difySecretId(regional));
    // CloudFormation resolves the reference when it creates the cache: the field must have been generated first.
    const [valuesId] = onlyResource(regional, 'Custom::DifySecretValues');
    expect(dependsOn(group)).toContain(valuesId);
  });

  test('the bucket blocks public access, is encrypted, refuses plain HTTP and is retained', () => {
    const bucketId = outputTarget(regional, 'BucketName');
    const bucket = resource(regional, bucketId);
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(propsOf(bucket).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(at(propsOf(bucket), 'BucketEncryption', 'ServerSideEncryptionConfiguration', 0)).toBeDefined();
    expect(bucket.DeletionPolicy).toBe('Retain');

    const policies = resourcesOfType(regional, 'AWS::S3::BucketPolicy').filter(
      ([, policy]) => refId(propsOf(policy).Bucket) === bucketId,
    );
    expect(policies).toHaveLength(1);
    const statements = at(propsOf(policies[0][1]), 'PolicyDocument', 'Statement') as Array<Record<string, unknown>>;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  test("Dify's keys live in one retained secret, a generated field each, never in the template", () => {
    const id = difySecretId(regional);
    const secret = resource(regional, id);
    expect(secret.Type).toBe('AWS::SecretsManager::Secret');
    expect(propsOf(secret).SecretString).toBeUndefined();
    expect(secret.DeletionPolicy).toBe('Retain');
    // Secrets Manager generates the first field; the custom resource generates the others into the same secret.
    expect(at(propsOf(secret), 'GenerateSecretString', 'GenerateStringKey')).toBe('secretKey');
    const [, values] = onlyResource(regional, 'Custom::DifySecretValues');
    expect(refId(propsOf(values).SecretArn)).toBe(id);
    const fields = JSON.parse(String(propsOf(values).Fields)) as Record<string, number>;
    expect(Object.keys(fields).sort()).toEqual(
      ['innerApiKey', 'initPassword', 'pluginDaemonKey', 'redisAuthToken', 'sandboxApiKey', 'secretKey'].sort(),
    );
    // INIT_PASSWORD is capped at 30 characters by Dify; every other key is 40 or more.
    expect(fields.initPassword).toBeLessThanOrEqual(30);
    for (const [field, length] of Object.entries(fields)) {
      if (field !== 'initPassword') expect(length).toBeGreaterThanOrEqual(40);
    }
    // Four secrets in all: Dify's keys, the database credentials, the public site URL (not a secret) and the upload
    // relay's origin header (docs/adr/0016); the cost model counts the same number.
    expect(resourcesOfType(regional, 'AWS::SecretsManager::Secret')).toHaveLength(PROFILES.low.lambdaSecrets);
    expect(PROFILES.low.lambdaSecrets).toBe(4);
  });

  test('the outputs a user needs exist and point at the right things', () => {
    for (const name of [
      'SiteUrl',
      'DistributionDomainName',
      'BucketName',
      'ClusterName',
      'BackendServiceName',
      'DatabaseSecretArn',
      'DifySecretArn',
      'DatabaseQueryCommand',
      'MigrationLogGroup',
      'ApiFunctionName',
      'InitPasswordCommand',
    ]) {
      expect(regional.Outputs).toHaveProperty(name);
    }
    const [distributionId] = onlyResource(regional, 'AWS::CloudFront::Distribution');
    expect(flatten(outputValue(regional, 'SiteUrl'))).toBe(`https://<GetAtt:${distributionId}.DomainName>`);
    const [clusterId] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const query = flatten(outputValue(regional, 'DatabaseQueryCommand'));
    expect(query).toContain('aws rds-data execute-statement --region ap-northeast-1');
    expect(query).toContain(`:cluster:<Ref:${clusterId}>`);
    expect(query).toContain(`--secret-arn <Ref:${outputTarget(regional, 'DatabaseSecretArn')}>`);
    expect(query).toContain('--database dify ');
    expect(synth.edge.Outputs).toHaveProperty('WebAclArn');
  });
});

describe('foundation with region eu-west-1, a NAT gateway and retainData: false', () => {
  let synth: SynthesizedTemplates;
  let regional: CfnTemplate;

  beforeAll(() => {
    synth = synthTemplates({ region: 'eu-west-1', nat: 'gateway', retainData: false });
    regional = synth.regional;
  });
  afterAll(removeSynthOutputs);

  test('the regional stack moves to eu-west-1 while the edge stack stays in us-east-1', () => {
    expect(synth.synthesized.regional.region).toBe('eu-west-1');
    expect(synth.synthesized.edge.region).toBe('us-east-1');
    expect(flatten(outputValue(regional, 'DatabaseQueryCommand'))).toContain('--region eu-west-1');
  });

  test('egress uses one NAT gateway and no NAT instance', () => {
    expect(resourcesOfType(regional, 'AWS::EC2::Instance')).toHaveLength(0);
    const [gatewayId] = onlyResource(regional, 'AWS::EC2::NatGateway');
    const routes = privateDefaultRoutes(regional);
    expect(routes).toHaveLength(2);
    for (const route of routes) expect(refId(route.NatGatewayId)).toBe(gatewayId);
  });

  test('the cluster can be deleted: no deletion protection, no snapshot', () => {
    const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
    expect(propsOf(cluster).DeletionProtection ?? false).toBe(false);
    expect(cluster.DeletionPolicy).toBe('Delete');
  });

  test('the bucket (emptied first) and the Dify secrets are deleted with the stack', () => {
    const bucket = resource(regional, outputTarget(regional, 'BucketName'));
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect(resourcesOfType(regional, 'Custom::S3AutoDeleteObjects')).toHaveLength(1);
    expect(resource(regional, difySecretId(regional)).DeletionPolicy).toBe('Delete');
  });
});
