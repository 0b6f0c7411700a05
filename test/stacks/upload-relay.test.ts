/**
 * The upload relay in the synthesized templates (docs/adr/0016): behaviours and origins per path, the relay's
 * permissions and network reach, the origin secret never in plain text, and the limits Dify is told.
 */
import { LLRT_BINARY_METADATA_KEY } from '../../lib/llrt-function';
import { API_PATH_PATTERNS, RELAY_PATH_PATTERNS } from '../../lib/constructs/distribution';
import { RELAY_SECRET_GENERATION_HEADER, RELAY_SECRET_HEADER } from '../../lib/constructs/upload-relay';
import { BACKEND_ECS_SERVICE_NAME } from '../../lib/constructs/backend-service';
import { ENDPOINT_URL_TEMPLATE_VALUE, PLUGIN_DAEMON_PORT } from '../../lib/dify-environment';
import { EDGE_UPLOAD_LIMITS } from '../../lib/regional-stack';
import { RELAYED_UPLOAD_LIMIT_MB } from '../../functions/upload-relay/routes';
import {
  type CfnResource,
  type CfnTemplate,
  asArray,
  at,
  flatten,
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
  synthTemplates,
} from './template-helpers';

const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
/** Default quota "Cache behaviors per distribution" (CloudFront DG "Quotas on distributions"). */
const MAX_CACHE_BEHAVIORS = 25;

type Record_ = Record<string, unknown>;

/** An IAM `Action` or `Resource`: one value or a list. */
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function distributionConfig(template: CfnTemplate): Record_ {
  const config = propsOf(onlyResource(template, 'AWS::CloudFront::Distribution')[1]).DistributionConfig;
  if (!isRecord(config)) throw new Error('distribution without DistributionConfig');
  return config;
}

function behaviors(template: CfnTemplate): Record_[] {
  return asArray(distributionConfig(template).CacheBehaviors) as Record_[];
}

function behaviorFor(template: CfnTemplate, pattern: string): Record_ {
  const found = behaviors(template).filter((b) => b.PathPattern === pattern);
  if (found.length !== 1) throw new Error(`expected one behaviour for ${pattern}, found ${found.length}`);
  return found[0];
}

function originFor(template: CfnTemplate, urlId: string): Record_ {
  const attribute = JSON.stringify({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
  const found = (asArray(distributionConfig(template).Origins) as Record_[]).filter((o) =>
    JSON.stringify(o.DomainName).includes(attribute),
  );
  if (found.length !== 1) throw new Error(`expected one origin for ${urlId}, found ${found.length}`);
  return found[0];
}

function functionUrlOf(template: CfnTemplate, target: (arn: unknown) => boolean): [string, CfnResource] {
  const urls = resourcesOfType(template, 'AWS::Lambda::Url').filter(([, url]) =>
    target(propsOf(url).TargetFunctionArn),
  );
  if (urls.length !== 1) throw new Error(`expected one function URL, found ${urls.length}`);
  return urls[0];
}

function policyStatementsOf(template: CfnTemplate, roleId: string): Record_[] {
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === roleId))
    .flatMap(([, policy]) => asArray(at(propsOf(policy), 'PolicyDocument', 'Statement')) as Record_[]);
}

function egressRulesOf(template: CfnTemplate, groupId: string): Array<Record_> {
  const inline = asArray(propsOf(resource(template, groupId)).SecurityGroupEgress).filter(isRecord);
  const standalone = resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress')
    .map(([, rule]) => propsOf(rule))
    .filter((rule) => getAtt(rule.GroupId)?.[0] === groupId);
  return [...inline, ...standalone];
}

describe('upload relay (lambda mode, default configuration)', () => {
  let regional: CfnTemplate;
  let relayId: string;
  let relay: CfnResource;
  let relaySecretId: string;
  let apiId: string;
  let aliasId: string;
  let relayUrlId: string;

  beforeAll(() => {
    ({ regional } = synthTemplates());
    relaySecretId = outputTarget(regional, 'UploadRelaySecretArn');
    const relays = resourcesOfType(regional, 'AWS::Lambda::Function').filter(
      ([, fn]) => refId(lambdaEnvironment(fn).ORIGIN_SECRET_ARN) === relaySecretId,
    );
    expect(relays).toHaveLength(1);
    [[relayId, relay]] = relays;
    apiId = outputTarget(regional, 'ApiFunctionName');
    const aliases = resourcesOfType(regional, 'AWS::Lambda::Alias').filter(
      ([, alias]) => refId(propsOf(alias).FunctionName) === apiId,
    );
    expect(aliases).toHaveLength(1);
    aliasId = aliases[0][0];
    [relayUrlId] = functionUrlOf(regional, (arn) => getAtt(arn)?.[0] === relayId);
  });
  afterAll(removeSynthOutputs);

  test('is an LLRT function (pinned binary) in the private subnets, with AuthType NONE', () => {
    const p = propsOf(relay);
    expect(p.Runtime).toBe('provided.al2023');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.Timeout).toBe(60);
    expect(at(p, 'VpcConfig', 'SubnetIds')).toBeDefined();
    expect((relay as CfnResource & { Metadata?: Record_ }).Metadata?.[LLRT_BINARY_METADATA_KEY]).toBeDefined();
    expect(propsOf(resource(regional, relayUrlId))).toMatchObject({ AuthType: 'NONE', InvokeMode: 'BUFFERED' });
  });

  test('every relay path has its own behaviour, before the api prefixes, to the relay origin without OAC or signer', () => {
    const order = behaviors(regional).map((b) => b.PathPattern as string);
    const relayOrigin = originFor(regional, relayUrlId);
    expect(relayOrigin.OriginAccessControlId).toBeUndefined();
    const apiBehavior = behaviorFor(regional, '/console/api/*');
    for (const pattern of RELAY_PATH_PATTERNS) {
      const behavior = behaviorFor(regional, pattern);
      expect(behavior.TargetOriginId).toBe(relayOrigin.Id);
      expect(behavior.LambdaFunctionAssociations).toBeUndefined();
      // Same WAF (distribution-wide), same viewer-request function, nothing cached.
      expect(behavior.FunctionAssociations).toEqual(apiBehavior.FunctionAssociations);
      expect(behavior).toMatchObject({
        CachePolicyId: CACHING_DISABLED,
        OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        ViewerProtocolPolicy: 'redirect-to-https',
        Compress: false,
      });
      expect(asArray(behavior.AllowedMethods)).toEqual(expect.arrayContaining(['POST', 'PUT', 'DELETE', 'OPTIONS']));
      for (const apiPattern of API_PATH_PATTERNS) {
        if (apiPattern !== pattern) expect(order.indexOf(pattern)).toBeLessThan(order.indexOf(apiPattern));
      }
    }
    expect(order.length).toBeLessThanOrEqual(MAX_CACHE_BEHAVIORS);
  });

  test('other api paths keep OAC and the payload signer', () => {
    for (const pattern of API_PATH_PATTERNS) {
      const behavior = behaviorFor(regional, pattern);
      expect(asArray(behavior.LambdaFunctionAssociations)).toHaveLength(1);
      expect(behavior.TargetOriginId).not.toBe(originFor(regional, relayUrlId).Id);
    }
  });

  test('CloudFront sends the secret as a dynamic reference, and the template never holds its value', () => {
    const headers = asArray(originFor(regional, relayUrlId).OriginCustomHeaders) as Record_[];
    const secretHeader = headers.find((h) => h.HeaderName === RELAY_SECRET_HEADER);
    expect(flatten(secretHeader?.HeaderValue)).toBe(
      `{{resolve:secretsmanager:<Ref:${relaySecretId}>:SecretString:current::}}`,
    );
    expect(headers.find((h) => h.HeaderName === RELAY_SECRET_GENERATION_HEADER)?.HeaderValue).toBe('1');
    const secret = propsOf(resource(regional, relaySecretId));
    expect(secret.SecretString).toBeUndefined();
    expect(secret.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'current',
      SecretStringTemplate: JSON.stringify({ previous: '' }),
      ExcludePunctuation: true,
    });
    expect(resource(regional, relaySecretId).DeletionPolicy).toBe('Retain');
  });

  test('raising uploads.relaySecretGeneration changes the distribution (CloudFormation re-reads the secret)', () => {
    const { regional: rotated } = synthTemplates({ uploads: { relaySecretGeneration: 2 } });
    const [urlId] = functionUrlOf(rotated, (arn) =>
      resourcesOfType(rotated, 'AWS::Lambda::Function').some(
        ([id, fn]) => getAtt(arn)?.[0] === id && lambdaEnvironment(fn).ORIGIN_SECRET_ARN !== undefined,
      ),
    );
    const headers = asArray(originFor(rotated, urlId).OriginCustomHeaders) as Record_[];
    expect(headers.find((h) => h.HeaderName === RELAY_SECRET_GENERATION_HEADER)?.HeaderValue).toBe('2');
  });

  test('its role invokes only the api live alias through its URL and reads only its two secrets', () => {
    const roleId = refId(propsOf(relay).Role) ?? getAtt(propsOf(relay).Role)?.[0];
    expect(roleId).toBeDefined();
    const statements = policyStatementsOf(regional, roleId as string);
    const lambdaStatements = statements.filter((s) => listOf(s.Action).some((a) => String(a).startsWith('lambda:')));
    expect(lambdaStatements).toHaveLength(2);
    for (const statement of lambdaStatements) expect(refId(statement.Resource)).toBe(aliasId);
    expect(lambdaStatements.find((s) => s.Action === 'lambda:InvokeFunctionUrl')?.Condition).toEqual({
      StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' },
    });
    // The api alias' URL is the one CloudFront's OAC origin uses, and the relay is handed exactly that URL.
    const [apiUrlId, apiUrl] = functionUrlOf(regional, (arn) => getAtt(arn)?.[0] === apiId);
    expect(propsOf(apiUrl)).toMatchObject({ AuthType: 'AWS_IAM', Qualifier: 'live' });
    expect(propsOf(resource(regional, aliasId)).Name).toBe('live');
    expect(getAtt(lambdaEnvironment(relay).API_FUNCTION_URL)).toEqual([apiUrlId, 'FunctionUrl']);
    const secretReads = statements.filter((s) => listOf(s.Action).includes('secretsmanager:GetSecretValue'));
    const siteUrlSecret = refId(lambdaEnvironment(relay).SITE_URL_SECRET_ARN);
    expect(secretReads.flatMap((s) => listOf(s.Resource).map(refId)).sort()).toEqual(
      [relaySecretId, siteUrlSecret].sort(),
    );
    const actions = statements.flatMap((s) => listOf(s.Action).map(String));
    expect(
      actions.filter(
        (a) => !/^(lambda:Invoke|secretsmanager:(GetSecretValue|DescribeSecret)|ecs:UpdateService$)/.test(a),
      ),
    ).toEqual([]);
  });

  test('with backend sleep (the default) it may start the backend service, and only that: UpdateService on its ARN', () => {
    const roleId = (refId(propsOf(relay).Role) ?? getAtt(propsOf(relay).Role)?.[0]) as string;
    const ecsStatements = policyStatementsOf(regional, roleId).filter((s) =>
      listOf(s.Action).some((a) => String(a).startsWith('ecs:')),
    );
    const [, service] = onlyResource(regional, 'AWS::ECS::Service');
    const clusterId = refId(propsOf(service).Cluster);
    expect(propsOf(service).ServiceName).toBe(BACKEND_ECS_SERVICE_NAME);
    expect(ecsStatements).toHaveLength(1);
    expect(listOf(ecsStatements[0].Action)).toEqual(['ecs:UpdateService']);
    // The service's ARN, built from the cluster and the fixed service name (a reference would be a cycle).
    const arn = JSON.stringify(ecsStatements[0].Resource);
    expect(arn).toContain(`:service/`);
    expect(arn).toContain(JSON.stringify({ Ref: clusterId }));
    expect(arn).toContain(`/${BACKEND_ECS_SERVICE_NAME}`);
    // `<cluster name>/<service name>`, as functions/upload-relay/backend-wake.ts parses it.
    expect(lambdaEnvironment(relay).BACKEND_SERVICE).toEqual({
      'Fn::Join': ['', [{ Ref: clusterId }, `/${BACKEND_ECS_SERVICE_NAME}`]],
    });
  });

  test('with backend.sleep.mode off it has no ECS permission and no backend service setting', () => {
    const { regional: awake } = synthTemplates({ backend: { sleep: { mode: 'off' } } });
    const relays = resourcesOfType(awake, 'AWS::Lambda::Function').filter(
      ([, fn]) => lambdaEnvironment(fn).ORIGIN_SECRET_ARN !== undefined,
    );
    expect(relays).toHaveLength(1);
    expect(lambdaEnvironment(relays[0][1]).BACKEND_SERVICE).toBeUndefined();
    const policies = JSON.stringify(resourcesOfType(awake, 'AWS::IAM::Policy'));
    expect(policies).not.toContain('ecs:UpdateService');
  });

  test('it reaches only port 5002 of the backend, and HTTPS outside', () => {
    const relaySg = onlySecurityGroup(at(propsOf(relay), 'VpcConfig', 'SecurityGroupIds'));
    const egress = egressRulesOf(regional, relaySg);
    const toGroups = egress.filter((rule) => rule.DestinationSecurityGroupId !== undefined);
    expect(toGroups).toHaveLength(1);
    expect(toGroups[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: PLUGIN_DAEMON_PORT, ToPort: PLUGIN_DAEMON_PORT });
    const backendSg = getAtt(toGroups[0].DestinationSecurityGroupId)?.[0] as string;
    expect(egress.filter((rule) => rule.CidrIp !== undefined)).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    const fromRelay = ingressRulesOf(regional, backendSg).filter((rule) => rule.sourceGroup === relaySg);
    expect(fromRelay).toEqual([
      expect.objectContaining({ protocol: 'tcp', fromPort: PLUGIN_DAEMON_PORT, toPort: PLUGIN_DAEMON_PORT }),
    ]);
    expect(flatten(lambdaEnvironment(relay).PLUGIN_DAEMON_URL)).toBe(
      `http://backend.dify.internal:${PLUGIN_DAEMON_PORT}`,
    );
  });

  test("Dify is told the relay's limit, and the console shows the public plugin endpoint URL", () => {
    expect(EDGE_UPLOAD_LIMITS).toEqual({
      UPLOAD_FILE_SIZE_LIMIT: String(RELAYED_UPLOAD_LIMIT_MB),
      UPLOAD_IMAGE_FILE_SIZE_LIMIT: String(RELAYED_UPLOAD_LIMIT_MB),
      UPLOAD_VIDEO_FILE_SIZE_LIMIT: String(RELAYED_UPLOAD_LIMIT_MB),
      UPLOAD_AUDIO_FILE_SIZE_LIMIT: String(RELAYED_UPLOAD_LIMIT_MB),
    });
    const apiEnv = lambdaEnvironment(resource(regional, apiId));
    for (const [name, value] of Object.entries(EDGE_UPLOAD_LIMITS)) expect(apiEnv[name]).toBe(value);
    const templates = JSON.parse(flatten(apiEnv.DIFY_EDGE_TEMPLATES)) as Record<string, string>;
    expect(templates.ENDPOINT_URL_TEMPLATE).toBe(ENDPOINT_URL_TEMPLATE_VALUE);
    expect(ENDPOINT_URL_TEMPLATE_VALUE).toBe('$CONSOLE_API_URL/e/{hook_id}');
  });
});

describe('ALB mode has no relay', () => {
  test('no relay function, no /e/ or upload behaviours', () => {
    const { regional } = synthTemplates({ hosting: 'alb' });
    expect(
      resourcesOfType(regional, 'AWS::Lambda::Function').filter(([, fn]) => lambdaEnvironment(fn).ORIGIN_SECRET_ARN),
    ).toEqual([]);
    const patterns = behaviors(regional).map((b) => b.PathPattern);
    for (const pattern of RELAY_PATH_PATTERNS) expect(patterns).not.toContain(pattern);
    removeSynthOutputs();
  });
});
