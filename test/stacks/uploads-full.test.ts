/**
 * `uploads.mode: 'full'` in the synthesized templates (docs/adr/0019): the upload routes go to an internal ALB
 * through a CloudFront VPC origin and on to the backend task's internal api, `/e/*` stays on the relay, the security
 * groups admit exactly CloudFront -> ALB -> internal api, and Dify keeps its own upload limits.
 */
import { INTERNAL_API_CONTAINER } from '../../lib/constructs/backend-service';
import { API_PATH_PATTERNS, RELAY_PATH_PATTERNS } from '../../lib/constructs/distribution';
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST } from '../../lib/constructs/vpc-origin-load-balancer';
import { API_PORT } from '../../lib/dify-environment';
import { EDGE_UPLOAD_LIMITS } from '../../lib/regional-stack';
import {
  PLUGIN_ENDPOINT_PATH_PATTERN,
  RELAY_API_PATH_PATTERNS,
  WEBHOOK_PATH_PATTERN,
} from '../../functions/upload-relay/routes';
import {
  type CfnResource,
  type CfnTemplate,
  asArray,
  at,
  container,
  environmentOf,
  flatten,
  functionByDescription,
  getAtt,
  ingressRulesOf,
  isRecord,
  lambdaEnvironment,
  onlyResource,
  onlySecurityGroup,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
} from './template-helpers';
import { synthTemplates } from './template-helpers';

const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
/** Default quota "Cache behaviors per distribution" (CloudFront DG "Quotas on distributions"). */
const MAX_CACHE_BEHAVIORS = 25;

type Record_ = Record<string, unknown>;

/** A list property that may be absent. */
function listOf(value: unknown): unknown[] {
  return value === undefined ? [] : asArray(value);
}

function distributionConfig(template: CfnTemplate): Record_ {
  const config = propsOf(onlyResource(template, 'AWS::CloudFront::Distribution')[1]).DistributionConfig;
  if (!isRecord(config)) throw new Error('distribution without DistributionConfig');
  return config;
}

function behaviorFor(template: CfnTemplate, pattern: string): Record_ {
  const found = (asArray(distributionConfig(template).CacheBehaviors) as Record_[]).filter(
    (b) => b.PathPattern === pattern,
  );
  if (found.length !== 1) throw new Error(`expected one behaviour for ${pattern}, found ${found.length}`);
  return found[0];
}

function originById(template: CfnTemplate, id: unknown): Record_ {
  const found = (asArray(distributionConfig(template).Origins) as Record_[]).filter((o) => o.Id === id);
  if (found.length !== 1) throw new Error(`expected one origin ${String(id)}, found ${found.length}`);
  return found[0];
}

/** The relay's function URL origin: the one carrying the relay's secret header. */
function relayOriginId(template: CfnTemplate): unknown {
  const found = (asArray(distributionConfig(template).Origins) as Record_[]).filter((o) =>
    listOf(o.OriginCustomHeaders).some((h) => isRecord(h) && h.HeaderName === 'x-dify-relay-secret'),
  );
  if (found.length !== 1) throw new Error(`expected one relay origin, found ${found.length}`);
  return found[0].Id;
}

function egressRulesOf(template: CfnTemplate, groupId: string): Record_[] {
  const inline = listOf(propsOf(resource(template, groupId)).SecurityGroupEgress).filter(isRecord);
  const standalone = resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress')
    .map(([, rule]) => propsOf(rule))
    .filter((rule) => getAtt(rule.GroupId)?.[0] === groupId);
  return [...inline, ...standalone];
}

/** Ingress rules of a group, with the prefix-list source the shared helper leaves out. */
function rawIngressOf(template: CfnTemplate, groupId: string): Record_[] {
  const inline = listOf(propsOf(resource(template, groupId)).SecurityGroupIngress).filter(isRecord);
  const standalone = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')
    .map(([, rule]) => propsOf(rule))
    .filter((rule) => getAtt(rule.GroupId)?.[0] === groupId);
  return [...inline, ...standalone];
}

function apiFunction(template: CfnTemplate): CfnResource {
  return resource(template, outputTarget(template, 'ApiFunctionName'));
}

function backendTask(template: CfnTemplate): CfnResource {
  const serviceId = outputTarget(template, 'BackendServiceName');
  const taskId = refId(propsOf(resource(template, serviceId)).TaskDefinition);
  if (!taskId) throw new Error('backend service without a task definition reference');
  return resource(template, taskId);
}

describe("uploads.mode 'full' (lambda hosting)", () => {
  let regional: CfnTemplate;
  let albId: string;
  let alb: CfnResource;
  let albGroupId: string;
  let backendServiceId: string;
  let backendGroupId: string;
  let vpcOriginOriginId: unknown;

  beforeAll(() => {
    ({ regional } = synthTemplates({ uploads: { mode: 'full' } }));
    [albId, alb] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    albGroupId = onlySecurityGroup(propsOf(alb).SecurityGroups);
    backendServiceId = outputTarget(regional, 'BackendServiceName');
    backendGroupId = onlySecurityGroup(
      at(
        propsOf(resource(regional, backendServiceId)),
        'NetworkConfiguration',
        'AwsvpcConfiguration',
        'SecurityGroups',
      ),
    );
    const [vpcOriginId, vpcOrigin] = onlyResource(regional, 'AWS::CloudFront::VpcOrigin');
    expect(refId(at(propsOf(vpcOrigin), 'VpcOriginEndpointConfig', 'Arn'))).toBe(albId);
    const origins = (asArray(distributionConfig(regional).Origins) as Record_[]).filter(
      (o) => getAtt(at(o, 'VpcOriginConfig', 'VpcOriginId'))?.[0] === vpcOriginId,
    );
    expect(origins).toHaveLength(1);
    vpcOriginOriginId = origins[0].Id;
  });
  afterAll(removeSynthOutputs);

  test('every upload route goes to the VPC origin with Authorization, cookies and query strings forwarded', () => {
    const apiBehavior = behaviorFor(regional, '/console/api/*');
    const cachePolicies = resourcesOfType(regional, 'AWS::CloudFront::CachePolicy');
    expect(cachePolicies).toHaveLength(1);
    const [policyId, policy] = cachePolicies[0];
    expect(at(propsOf(policy), 'CachePolicyConfig')).toMatchObject({
      MinTTL: 0,
      DefaultTTL: 0,
      MaxTTL: 1,
      ParametersInCacheKeyAndForwardedToOrigin: {
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] },
        CookiesConfig: { CookieBehavior: 'all' },
        QueryStringsConfig: { QueryStringBehavior: 'all' },
      },
    });
    for (const pattern of RELAY_API_PATH_PATTERNS) {
      const behavior = behaviorFor(regional, pattern);
      expect(behavior.TargetOriginId).toBe(vpcOriginOriginId);
      expect(refId(behavior.CachePolicyId)).toBe(policyId);
      // Every other viewer header (X-CSRF-Token, Content-Type, the x-dify-authorization copy) as on the api paths.
      expect(behavior.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
      expect(behavior.LambdaFunctionAssociations).toBeUndefined();
      expect(behavior.FunctionAssociations).toEqual(apiBehavior.FunctionAssociations);
      expect(behavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', Compress: false });
      expect(asArray(behavior.AllowedMethods)).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']));
    }
    expect(asArray(distributionConfig(regional).CacheBehaviors).length).toBeLessThanOrEqual(MAX_CACHE_BEHAVIORS);
  });

  test('/e/* and webhooks stay on the relay, and the other api paths keep OAC, the signer and no custom cache policy', () => {
    const relayId = relayOriginId(regional);
    for (const pattern of [PLUGIN_ENDPOINT_PATH_PATTERN, WEBHOOK_PATH_PATTERN]) {
      expect(behaviorFor(regional, pattern)).toMatchObject({
        TargetOriginId: relayId,
        CachePolicyId: CACHING_DISABLED,
      });
    }
    for (const pattern of API_PATH_PATTERNS) {
      const behavior = behaviorFor(regional, pattern);
      expect(behavior.CachePolicyId).toBe(CACHING_DISABLED);
      expect(asArray(behavior.LambdaFunctionAssociations)).toHaveLength(1);
      expect(originById(regional, behavior.TargetOriginId).OriginAccessControlId).toBeDefined();
    }
  });

  test('the VPC origin speaks HTTP to port 80 of an internal ALB in the private subnets', () => {
    const [, vpcOrigin] = onlyResource(regional, 'AWS::CloudFront::VpcOrigin');
    expect(at(propsOf(vpcOrigin), 'VpcOriginEndpointConfig')).toMatchObject({
      HTTPPort: 80,
      OriginProtocolPolicy: 'http-only',
    });
    expect(propsOf(alb)).toMatchObject({ Scheme: 'internal', Type: 'application' });
    const subnets = asArray(propsOf(alb).Subnets).map(refId);
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    for (const subnetId of subnets) {
      const tags = asArray(propsOf(resource(regional, subnetId as string)).Tags) as Record_[];
      expect(tags.find((t) => t.Key === 'aws-cdk:subnet-type')?.Value).toBe('Private');
      expect(propsOf(resource(regional, subnetId as string)).MapPublicIpOnLaunch).toBe(false);
    }
  });

  test("the ALB's group admits only CloudFront's origin-facing prefix list, on port 80, looked up at deploy time", () => {
    const ingress = rawIngressOf(regional, albGroupId);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 });
    expect(ingress[0].CidrIp).toBeUndefined();
    expect(ingress[0].SourceSecurityGroupId).toBeUndefined();
    const [lookupId, attribute] = getAtt(ingress[0].SourcePrefixListId) ?? [];
    expect(attribute).toBe('PrefixLists.0.PrefixListId');
    const call = JSON.parse(flatten(propsOf(resource(regional, lookupId as string)).Create)) as Record_;
    expect(call).toMatchObject({
      service: 'EC2',
      action: 'describeManagedPrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST] }] },
    });
    expect(CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST).toBe('com.amazonaws.global.cloudfront.origin-facing');
    // Out only to the internal api's port of the backend task.
    expect(egressRulesOf(regional, albGroupId)).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: API_PORT, ToPort: API_PORT }),
    ]);
    expect(getAtt(egressRulesOf(regional, albGroupId)[0].DestinationSecurityGroupId)?.[0]).toBe(backendGroupId);
  });

  test("the backend's port 5001 opens to the ALB's group alone", () => {
    const onApiPort = ingressRulesOf(regional, backendGroupId).filter(
      (rule) => rule.fromPort === API_PORT || rule.toPort === API_PORT,
    );
    expect(onApiPort).toEqual([{ protocol: 'tcp', fromPort: API_PORT, toPort: API_PORT, sourceGroup: albGroupId }]);
  });

  test('the listener forwards exactly the upload routes to the internal api container and answers 404 otherwise', () => {
    const [listenerId, listener] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::Listener');
    expect(propsOf(listener)).toMatchObject({ Port: 80, Protocol: 'HTTP' });
    expect(asArray(propsOf(listener).DefaultActions)).toEqual([
      expect.objectContaining({
        Type: 'fixed-response',
        FixedResponseConfig: expect.objectContaining({ StatusCode: '404' }),
      }),
    ]);
    const [targetGroupId, targetGroup] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(propsOf(targetGroup)).toMatchObject({
      Port: API_PORT,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: '/health',
    });
    const rules = resourcesOfType(regional, 'AWS::ElasticLoadBalancingV2::ListenerRule').map(([, r]) => propsOf(r));
    const patterns: string[] = [];
    for (const rule of rules) {
      expect(refId(rule.ListenerArn)).toBe(listenerId);
      expect(asArray(rule.Actions)).toEqual([expect.objectContaining({ Type: 'forward' })]);
      expect(refId((asArray(rule.Actions)[0] as Record_).TargetGroupArn)).toBe(targetGroupId);
      const values = asArray(rule.Conditions).flatMap((c) => asArray(at(c, 'PathPatternConfig', 'Values')));
      // ELB quotas: five condition values and five wildcards per rule.
      expect(values.length).toBeLessThanOrEqual(5);
      expect(values.join('').split('*').length - 1).toBeLessThanOrEqual(5);
      patterns.push(...(values as string[]));
    }
    expect(patterns.sort()).toEqual([...RELAY_API_PATH_PATTERNS].sort());
    expect(patterns).not.toContain(PLUGIN_ENDPOINT_PATH_PATTERN);
    expect(patterns).not.toContain(WEBHOOK_PATH_PATTERN);

    const service = propsOf(resource(regional, backendServiceId));
    expect(asArray(service.LoadBalancers)).toEqual([
      { ContainerName: INTERNAL_API_CONTAINER, ContainerPort: API_PORT, TargetGroupArn: { Ref: targetGroupId } },
    ]);
    expect(service.HealthCheckGracePeriodSeconds).toBe(300);
    expect(at(container(backendTask(regional), INTERNAL_API_CONTAINER), 'PortMappings')).toEqual([
      expect.objectContaining({ ContainerPort: API_PORT }),
    ]);
    expect(outputTarget(regional, 'UploadLoadBalancerName')).toBe(albId);
  });

  test('Dify keeps its own upload limits: no UPLOAD_* setting on the api function or the internal api', () => {
    const apiEnv = lambdaEnvironment(apiFunction(regional));
    const internalEnv = environmentOf(container(backendTask(regional), INTERNAL_API_CONTAINER));
    for (const name of Object.keys(EDGE_UPLOAD_LIMITS)) {
      expect(apiEnv[name]).toBeUndefined();
      expect(internalEnv[name]).toBeUndefined();
    }
  });
});

describe("uploads.mode 'relay' (default)", () => {
  let regional: CfnTemplate;
  beforeAll(() => {
    ({ regional } = synthTemplates());
  });
  afterAll(removeSynthOutputs);

  test('every relay path, uploads and /e/*, goes to the relay; there is no ALB, VPC origin or custom cache policy', () => {
    const relayId = relayOriginId(regional);
    for (const pattern of RELAY_PATH_PATTERNS) expect(behaviorFor(regional, pattern).TargetOriginId).toBe(relayId);
    expect(resourcesOfType(regional, 'AWS::ElasticLoadBalancingV2::LoadBalancer')).toEqual([]);
    expect(resourcesOfType(regional, 'AWS::CloudFront::VpcOrigin')).toEqual([]);
    expect(resourcesOfType(regional, 'AWS::CloudFront::CachePolicy')).toEqual([]);
    expect(propsOf(resource(regional, outputTarget(regional, 'BackendServiceName'))).LoadBalancers).toBeUndefined();
  });

  test("Dify is told the relay's lowered limits", () => {
    const apiEnv = lambdaEnvironment(apiFunction(regional));
    for (const [name, value] of Object.entries(EDGE_UPLOAD_LIMITS)) expect(apiEnv[name]).toBe(value);
    expect(functionByDescription(regional, 'Dify upload relay')).toBeDefined();
  });
});

describe('hosting alb shares the VPC origin load balancer', () => {
  test("its ALB's group admits the same prefix list on port 80 and nothing else", () => {
    const { regional } = synthTemplates({ hosting: 'alb' });
    const [, alb] = onlyResource(regional, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    const ingress = rawIngressOf(regional, onlySecurityGroup(propsOf(alb).SecurityGroups));
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 });
    expect(getAtt(ingress[0].SourcePrefixListId)?.[1]).toBe('PrefixLists.0.PrefixListId');
    removeSynthOutputs();
  });
});
