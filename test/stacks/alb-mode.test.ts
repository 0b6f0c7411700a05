import {
  CfnResource,
  CfnTemplate,
  asArray,
  at,
  container,
  crossRegionExport,
  dependsOn,
  getAtt,
  ingressRulesOf,
  isRecord,
  onlyResource,
  onlySecurityGroup,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  secretsOf,
  synthTemplates,
} from './template-helpers';

const API_PATHS = ['/console/api/*', '/api/*', '/v1/*', '/files/*', '/mcp/*', '/triggers/*'];
/** ELB quota: at most five values across the conditions of one listener rule. */
const MAX_PATTERNS_PER_RULE = 5;

function targetGroupOnPort(template: CfnTemplate, port: number): string {
  const groups = resourcesOfType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup').filter(
    ([, group]) => propsOf(group).Port === port,
  );
  if (groups.length !== 1) throw new Error(`expected one target group on port ${port}, found ${groups.length}`);
  return groups[0][0];
}

/** Fargate services fronted by the load balancer, keyed by container name. */
function frontServices(template: CfnTemplate): Map<string, [string, CfnResource]> {
  const services = new Map<string, [string, CfnResource]>();
  for (const [id, service] of resourcesOfType(template, 'AWS::ECS::Service')) {
    const balancers = propsOf(service).LoadBalancers;
    if (!Array.isArray(balancers)) continue;
    for (const balancer of balancers) services.set(String(at(balancer, 'ContainerName')), [id, service]);
  }
  return services;
}

function frontService(template: CfnTemplate, containerName: string): CfnResource {
  const found = frontServices(template).get(containerName);
  if (!found) throw new Error(`no service behind the load balancer runs a container ${containerName}`);
  return found[1];
}

describe('ALB hosting mode', () => {
  let regional: CfnTemplate;
  let edge: CfnTemplate;
  let lambdaRegional: CfnTemplate;
  let lambdaEdge: CfnTemplate;

  beforeAll(() => {
    ({ regional, edge } = synthTemplates({ hosting: 'alb' }));
    ({ regional: lambdaRegional, edge: lambdaEdge } = synthTemplates());
  });
  afterAll(removeSynthOutputs);

  test('there are no api/web functions, function URLs, OAC or Lambda@Edge', () => {
    const images = resourcesOfType(regional, 'AWS::Lambda::Function').filter(
      ([, fn]) => propsOf(fn).PackageType === 'Image',
    );
    expect(images).toHaveLength(0);
    expect(resourcesOfType(regional, 'AWS::Lambda::Url')).toHaveLength(0);
    expect(resourcesOfType(regional, 'AWS::CloudFront::OriginAccessControl')).toHaveLength(0);
    expect(regional.Outputs).not.toHaveProperty('ApiFunctionName');

    const [, distribution] = onlyResource(regional, 'AWS::CloudFront::Distribution');
    expect(JSON.stringify(distribution)).not.toContain('LambdaFunctionAssociations');
    expect(resourcesOfType(edge, 'AWS::Lambda::Version')).toHaveLength(0);
    const edgeTrusting = resourcesOfType(edge, 'AWS::IAM::Role').filter(([, role]) =>
      JSON.stringify(propsOf(role).AssumeRolePolicyDocument).includes('edgelambda.amazonaws.com'),
    );
    expect(edgeTrusting).toHaveLength(0);
    expect(edge.Outputs).not.toHaveProperty('PayloadSignerLogGroups');
  });

  test('an internal ALB with an idle timeout of at least 60 s (CloudFront waits 60 s between packets)', () => {
    const [, alb] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(propsOf(alb).Scheme).toBe('internal');
    const attributes = asArray(propsOf(alb).LoadBalancerAttributes).filter(isRecord);
    const idle = attributes.find((a) => a.Key === 'idle_timeout.timeout_seconds');
    expect(Number(idle?.Value)).toBeGreaterThanOrEqual(60);
    for (const subnet of asArray(propsOf(alb).Subnets)) {
      expect(propsOf(resource(regional, refId(subnet) ?? '')).MapPublicIpOnLaunch).toBe(false);
    }
  });

  test('listener rules send the api paths (five at most per rule) to the api; the default goes to the web', () => {
    const apiGroup = targetGroupOnPort(regional, 5001);
    const webGroup = targetGroupOnPort(regional, 3000);
    const [listenerId, listener] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::Listener');
    expect(propsOf(listener).DefaultActions).toEqual([
      expect.objectContaining({ Type: 'forward', TargetGroupArn: { Ref: webGroup } }),
    ]);
    const routed: string[] = [];
    for (const [, rule] of resourcesOfType(regional, 'AWS::ElasticLoadBalancingV2::ListenerRule')) {
      const p = propsOf(rule);
      expect(refId(p.ListenerArn)).toBe(listenerId);
      expect(p.Actions).toEqual([expect.objectContaining({ Type: 'forward', TargetGroupArn: { Ref: apiGroup } })]);
      const values = asArray(p.Conditions).flatMap((condition) =>
        asArray(at(condition, 'PathPatternConfig', 'Values')),
      );
      expect(values.length).toBeLessThanOrEqual(MAX_PATTERNS_PER_RULE);
      routed.push(...values.map(String));
    }
    expect(routed.sort()).toEqual([...API_PATHS].sort());
  });

  test('api and web run as on-demand Fargate services behind the ALB, after the migration', () => {
    const services = frontServices(regional);
    expect([...services.keys()].sort()).toEqual(['api', 'web']);
    const [migrationId] = onlyResource(regional, 'Custom::DifyDatabaseMigration');
    for (const [, [, service]] of services) {
      expect(propsOf(service).CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE', Weight: 1 }]);
      expect(dependsOn(service)).toContain(migrationId);
    }
    const apiService = frontService(regional, 'api');
    const apiTask = resource(regional, refId(propsOf(apiService).TaskDefinition) ?? '');
    expect(Object.keys(secretsOf(container(apiTask, 'api')))).toEqual(
      expect.arrayContaining(['SECRET_KEY', 'DB_PASSWORD', 'REDIS_PASSWORD', 'PLUGIN_DAEMON_KEY']),
    );
  });

  test('the api service reaches the database, Valkey and the backend ports', () => {
    const apiService = frontService(regional, 'api');
    const apiSg = onlySecurityGroup(
      at(propsOf(apiService), 'NetworkConfiguration', 'AwsvpcConfiguration', 'SecurityGroups'),
    );
    const backend = resource(regional, outputTarget(regional, 'BackendServiceName'));
    const backendSg = onlySecurityGroup(
      at(propsOf(backend), 'NetworkConfiguration', 'AwsvpcConfiguration', 'SecurityGroups'),
    );
    const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const [, cache] = onlyResource(regional, 'AWS::ElastiCache::ReplicationGroup');
    const portsFromApi = (groupId: string) =>
      ingressRulesOf(regional, groupId)
        .filter((rule) => rule.sourceGroup === apiSg)
        .map((rule) => rule.fromPort);
    expect(portsFromApi(onlySecurityGroup(propsOf(cluster).VpcSecurityGroupIds))).toEqual([5432]);
    expect(portsFromApi(onlySecurityGroup(propsOf(cache).SecurityGroupIds))).toEqual([6379]);
    expect(portsFromApi(backendSg).sort()).toEqual([5002, 8194]);
  });

  test('CloudFront reaches the ALB through a VPC origin', () => {
    const [albId] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    const [vpcOriginId, vpcOrigin] = onlyResource(regional, 'AWS::CloudFront::VpcOrigin');
    expect(refId(at(propsOf(vpcOrigin), 'VpcOriginEndpointConfig', 'Arn'))).toBe(albId);
    const [, distribution] = onlyResource(regional, 'AWS::CloudFront::Distribution');
    const origins = asArray(at(propsOf(distribution), 'DistributionConfig', 'Origins'));
    expect(origins.length).toBeGreaterThan(0);
    for (const origin of origins) {
      expect(getAtt(at(origin, 'VpcOriginConfig', 'VpcOriginId'))).toEqual([vpcOriginId, 'Id']);
      expect(at(origin, 'VpcOriginConfig', 'OriginReadTimeout')).toBe(60);
    }
  });

  test('the same web ACL as in Lambda mode is built and attached', () => {
    expect(propsOf(onlyResource(edge, 'AWS::WAFv2::WebACL')[1])).toEqual(
      propsOf(onlyResource(lambdaEdge, 'AWS::WAFv2::WebACL')[1]),
    );
    const webAclId = at(
      propsOf(onlyResource(regional, 'AWS::CloudFront::Distribution')[1]),
      'DistributionConfig',
      'WebACLId',
    );
    const [aclId] = onlyResource(edge, 'AWS::WAFv2::WebACL');
    expect(getAtt(crossRegionExport(regional, edge, webAclId))).toEqual([aclId, 'Arn']);
  });

  test('the backend service, its task and the migration are the same as in Lambda mode', () => {
    const backendId = outputTarget(regional, 'BackendServiceName');
    expect(backendId).toBe(outputTarget(lambdaRegional, 'BackendServiceName'));
    const taskId = refId(propsOf(resource(regional, backendId)).TaskDefinition) ?? '';
    expect(propsOf(resource(regional, taskId))).toEqual(propsOf(resource(lambdaRegional, taskId)));
    const [migrationId, migration] = onlyResource(regional, 'Custom::DifyDatabaseMigration');
    expect(propsOf(migration)).toEqual(propsOf(resource(lambdaRegional, migrationId)));
    const migrationTask = refId(propsOf(migration).TaskDefinitionArn) ?? '';
    expect(propsOf(resource(regional, migrationTask))).toEqual(propsOf(resource(lambdaRegional, migrationTask)));
  });
});
