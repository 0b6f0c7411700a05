import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { RELAY_PATH_PATTERNS } from '../../lib/constructs/distribution';
import {
  CfnResource,
  CfnTemplate,
  SynthesizedTemplates,
  asArray,
  at,
  crossRegionExport,
  dependsOn,
  flatten,
  getAtt,
  isRecord,
  lambdaEnvironment,
  lambdaSecretRefs,
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

/** AWS managed CloudFront policies (CloudFront DG "Use managed cache policies" / "managed origin request policies"). */
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
/** Dify's nginx routes exactly these prefixes to the api container (docker/nginx/conf.d/default.conf.template). */
const API_PATHS = ['/console/api/*', '/api/*', '/v1/*', '/files/*', '/mcp/*', '/triggers/*'];
const STATIC_PATH = '/_next/static/*';
/** The CloudFront flat-rate Free plan accepts at most five WAF rules (WAF DG, flat-rate pricing plans). */
const FREE_PLAN_MAX_RULES = 5;

const CUSTOM_DOMAIN = {
  name: 'dify.example.com',
  certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234',
};

type Behavior = Record<string, unknown>;

function distributionConfig(template: CfnTemplate): Record<string, unknown> {
  const [, distribution] = onlyResource(template, 'AWS::CloudFront::Distribution');
  const config = propsOf(distribution).DistributionConfig;
  if (!isRecord(config)) throw new Error('distribution without DistributionConfig');
  return config;
}

function behaviorFor(template: CfnTemplate, pathPattern: string): Behavior {
  const behaviors = asArray(distributionConfig(template).CacheBehaviors) as Behavior[];
  const found = behaviors.filter((b) => b.PathPattern === pathPattern);
  if (found.length !== 1) throw new Error(`expected one behaviour for ${pathPattern}, found ${found.length}`);
  return found[0];
}

/** The function URL resource whose target is `functionId`. */
function functionUrlOf(template: CfnTemplate, functionId: string): [string, CfnResource] {
  const urls = resourcesOfType(template, 'AWS::Lambda::Url').filter(
    ([, url]) => getAtt(propsOf(url).TargetFunctionArn)?.[0] === functionId,
  );
  if (urls.length !== 1) throw new Error(`expected one function URL for ${functionId}, found ${urls.length}`);
  return urls[0];
}

/** Origin ID of the distribution origin that points at `functionId`'s URL. */
function originIdFor(template: CfnTemplate, functionId: string): string {
  const [urlId] = functionUrlOf(template, functionId);
  const origins = asArray(distributionConfig(template).Origins) as Array<Record<string, unknown>>;
  // The origin's domain is the URL's host, cut out of the FunctionUrl attribute with Fn::Select/Fn::Split.
  const urlAttribute = JSON.stringify({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
  const matching = origins.filter((o) => JSON.stringify(o.DomainName).includes(urlAttribute));
  if (matching.length !== 1) throw new Error(`expected one origin for ${urlId}, found ${matching.length}`);
  return matching[0].Id as string;
}

function originById(template: CfnTemplate, originId: string): Record<string, unknown> {
  const origins = asArray(distributionConfig(template).Origins) as Array<Record<string, unknown>>;
  const found = origins.find((o) => o.Id === originId);
  if (!found) throw new Error(`no origin ${originId}`);
  return found;
}

function webAcl(edge: CfnTemplate): Record<string, unknown> {
  return propsOf(onlyResource(edge, 'AWS::WAFv2::WebACL')[1]);
}

function rules(edge: CfnTemplate): Array<Record<string, unknown>> {
  return asArray(webAcl(edge).Rules) as Array<Record<string, unknown>>;
}

function managedRuleGroups(edge: CfnTemplate): string[] {
  return rules(edge)
    .map((rule) => at(rule, 'Statement', 'ManagedRuleGroupStatement', 'Name'))
    .filter((name): name is string => typeof name === 'string');
}

function ipSet(edge: CfnTemplate, version: 'IPV4' | 'IPV6'): [string, CfnResource] | undefined {
  const sets = resourcesOfType(edge, 'AWS::WAFv2::IPSet').filter(([, s]) => propsOf(s).IPAddressVersion === version);
  if (sets.length > 1) throw new Error(`more than one ${version} IP set`);
  return sets[0];
}

function allowRule(edge: CfnTemplate): Record<string, unknown> | undefined {
  const allowing = rules(edge).filter((rule) => isRecord(rule.Action) && 'Allow' in rule.Action);
  if (allowing.length > 1) throw new Error('more than one allow rule');
  return allowing[0];
}

/** The address part of the allow rule: it ANDs the IP sets with "not a counted match off the api paths". */
function allowedAddresses(edge: CfnTemplate): unknown {
  return at(allowRule(edge), 'Statement', 'AndStatement', 'Statements', 0);
}

describe('Lambda front and CloudFront (default configuration)', () => {
  let synth: SynthesizedTemplates;
  let regional: CfnTemplate;
  let edge: CfnTemplate;
  let apiId: string;
  let webId: string;
  let api: CfnResource;
  let apiEnv: Record<string, unknown>;

  beforeAll(() => {
    synth = synthTemplates();
    ({ regional, edge } = synth);
    apiId = outputTarget(regional, 'ApiFunctionName');
    webId = outputTarget(regional, 'WebFunctionName');
    api = resource(regional, apiId);
    apiEnv = lambdaEnvironment(api);
  });
  afterAll(removeSynthOutputs);

  test('the api function is a container image in the private subnets with 3008 MB and 900 s', () => {
    const p = propsOf(api);
    expect(api.Type).toBe('AWS::Lambda::Function');
    expect(p.PackageType).toBe('Image');
    expect(p.MemorySize).toBe(3008);
    expect(p.Timeout).toBe(900);
    const sgId = onlySecurityGroup(at(p, 'VpcConfig', 'SecurityGroupIds'));
    expect(resource(regional, sgId).Type).toBe('AWS::EC2::SecurityGroup');
    const subnets = asArray(at(p, 'VpcConfig', 'SubnetIds')).map((s) => refId(s) ?? '');
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(propsOf(resource(regional, subnet)).MapPublicIpOnLaunch).toBe(false);
  });

  test('the Lambda Web Adapter serves Dify on 5001, streams, starts asynchronously and restores Authorization', () => {
    expect(apiEnv).toMatchObject({
      AWS_LWA_PORT: '5001',
      AWS_LWA_READINESS_CHECK_PATH: '/health',
      AWS_LWA_ASYNC_INIT: 'true',
      AWS_LWA_INVOKE_MODE: 'response_stream',
      AWS_LWA_AUTHORIZATION_SOURCE: FORWARDED_AUTHORIZATION_HEADER,
      MIGRATION_ENABLED: 'false',
    });
  });

  test('Dify on the api function refuses uploads the relay could not pass (4 MB, whole MB settings)', () => {
    for (const name of [
      'UPLOAD_FILE_SIZE_LIMIT',
      'UPLOAD_IMAGE_FILE_SIZE_LIMIT',
      'UPLOAD_VIDEO_FILE_SIZE_LIMIT',
      'UPLOAD_AUDIO_FILE_SIZE_LIMIT',
    ]) {
      expect([name, apiEnv[name]]).toEqual([name, '4']);
    }
    // Dify's own defaults (2 MB) are already below the relay's limit.
    expect(apiEnv.ATTACHMENT_IMAGE_FILE_SIZE_LIMIT).toBeUndefined();
    expect(apiEnv.ANNOTATION_IMPORT_FILE_SIZE_LIMIT).toBeUndefined();
  });

  test('the api reaches the database, Valkey, S3 and the backend by their private names', () => {
    const [clusterId] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const [cacheId] = onlyResource(regional, 'AWS::ElastiCache::ReplicationGroup');
    expect(getAtt(apiEnv.DB_HOST)).toEqual([clusterId, 'Endpoint.Address']);
    expect(getAtt(apiEnv.REDIS_HOST)).toEqual([cacheId, 'PrimaryEndPoint.Address']);
    expect(refId(apiEnv.S3_BUCKET_NAME)).toBe(outputTarget(regional, 'BucketName'));
    expect(apiEnv).toMatchObject({
      PGVECTOR_DATABASE: 'dify_pgvector',
      VECTOR_STORE: 'pgvector',
      REDIS_USE_SSL: 'true',
      STORAGE_TYPE: 's3',
      S3_REGION: 'ap-northeast-1',
      S3_USE_AWS_MANAGED_IAM: 'true',
      CODE_EXECUTION_ENDPOINT: 'http://backend.dify.internal:8194',
      PLUGIN_DAEMON_URL: 'http://backend.dify.internal:5002',
    });
    // Composed by the loader at start from other variables, so each endpoint is written once (4 KB limit).
    const templates = JSON.parse(flatten(apiEnv.DIFY_EDGE_TEMPLATES)) as Record<string, string>;
    expect(templates).toEqual({
      CELERY_BROKER_URL: 'rediss://:$REDIS_PASSWORD@$REDIS_HOST:6379/1?ssl_cert_reqs=required',
      PGVECTOR_HOST: '$DB_HOST',
      ENDPOINT_URL_TEMPLATE: '$CONSOLE_API_URL/e/{hook_id}',
    });
  });

  test('both function URLs are IAM-authenticated, response-streaming and on the live alias', () => {
    for (const functionId of [apiId, webId]) {
      const [, url] = functionUrlOf(regional, functionId);
      expect(propsOf(url)).toMatchObject({ AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM', Qualifier: 'live' });
      const aliases = resourcesOfType(regional, 'AWS::Lambda::Alias').filter(
        ([, alias]) => refId(propsOf(alias).FunctionName) === functionId,
      );
      expect(aliases).toHaveLength(1);
      expect(propsOf(aliases[0][1]).Name).toBe('live');
      expect(dependsOn(url)).toContain(aliases[0][0]);
    }
  });

  test('the web function runs Next.js on port 3000 behind the adapter', () => {
    const web = resource(regional, webId);
    expect(propsOf(web).PackageType).toBe('Image');
    expect(lambdaEnvironment(web)).toMatchObject({ AWS_LWA_PORT: '3000', AWS_LWA_INVOKE_MODE: 'response_stream' });
  });

  test('every Dify api path goes to the api origin; static assets and everything else to the web origin', () => {
    const apiOrigin = originIdFor(regional, apiId);
    const webOrigin = originIdFor(regional, webId);
    expect(apiOrigin).not.toBe(webOrigin);
    const config = distributionConfig(regional);
    const patterns = (asArray(config.CacheBehaviors) as Behavior[]).map((b) => b.PathPattern);
    // The upload routes and /e/* go to the relay (test/stacks/upload-relay.test.ts).
    expect(new Set(patterns)).toEqual(new Set([...RELAY_PATH_PATTERNS, ...API_PATHS, STATIC_PATH]));
    for (const path of API_PATHS) expect(behaviorFor(regional, path).TargetOriginId).toBe(apiOrigin);
    expect(behaviorFor(regional, STATIC_PATH).TargetOriginId).toBe(webOrigin);
    expect(at(config, 'DefaultCacheBehavior', 'TargetOriginId')).toBe(webOrigin);
  });

  test('dynamic behaviours use only managed no-cache policies, HTTPS, the viewer function and the signer with body', () => {
    const config = distributionConfig(regional);
    const [viewerFunctionId, viewerFunction] = onlyResource(regional, 'AWS::CloudFront::Function');
    expect(at(propsOf(viewerFunction), 'FunctionConfig', 'Runtime')).toBe('cloudfront-js-2.0');
    const dynamic = [...API_PATHS.map((path) => behaviorFor(regional, path)), config.DefaultCacheBehavior as Behavior];
    for (const behavior of dynamic) {
      expect(behavior).toMatchObject({
        CachePolicyId: CACHING_DISABLED,
        OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
        ViewerProtocolPolicy: 'redirect-to-https',
      });
      expect(behavior.AllowedMethods).toEqual(
        expect.arrayContaining(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
      );
      const functions = asArray(behavior.FunctionAssociations) as Behavior[];
      expect(functions).toHaveLength(1);
      expect(functions[0].EventType).toBe('viewer-request');
      expect(getAtt(functions[0].FunctionARN)).toEqual([viewerFunctionId, 'FunctionARN']);
      const lambdas = asArray(behavior.LambdaFunctionAssociations) as Behavior[];
      expect(lambdas).toHaveLength(1);
      expect(lambdas[0]).toMatchObject({ EventType: 'origin-request', IncludeBody: true });
    }
  });

  test('the Lambda@Edge association is the retained payload signer version from the us-east-1 stack', () => {
    const association = at(behaviorFor(regional, '/v1/*'), 'LambdaFunctionAssociations', 0, 'LambdaFunctionARN');
    const versionId = refId(crossRegionExport(regional, edge, association));
    if (!versionId) throw new Error('the signer association does not resolve to a version in the edge stack');
    const version = resource(edge, versionId);
    expect(version.Type).toBe('AWS::Lambda::Version');
    expect(version.DeletionPolicy).toBe('Retain');
    const signerResource = resource(edge, refId(propsOf(version).FunctionName) ?? '');
    // Replicas outlive a disassociation by hours: the function and its role stay when the stack lets go of them.
    expect(signerResource.DeletionPolicy).toBe('Retain');
    const signer = propsOf(signerResource);
    expect(signer.Runtime).toBe('nodejs22.x');
    expect(signer.Architectures ?? ['x86_64']).toEqual(['x86_64']);
    expect(signer.Environment).toBeUndefined();
    expect(signer.VpcConfig).toBeUndefined();
    expect(signer.Layers).toBeUndefined();
    const roleId = getAtt(signer.Role)?.[0] ?? '';
    const trust = at(
      propsOf(resource(edge, roleId)),
      'AssumeRolePolicyDocument',
      'Statement',
      0,
      'Principal',
      'Service',
    );
    expect(new Set(asArray(trust))).toEqual(new Set(['edgelambda.amazonaws.com', 'lambda.amazonaws.com']));
    expect(resource(edge, roleId).DeletionPolicy).toBe('Retain');
  });

  test('static assets are cached with the managed CachingOptimized policy and skip Lambda@Edge', () => {
    const staticBehavior = behaviorFor(regional, STATIC_PATH);
    expect(staticBehavior.CachePolicyId).toBe(CACHING_OPTIMIZED);
    expect(staticBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(staticBehavior.LambdaFunctionAssociations).toBeUndefined();
  });

  test('no custom cache policy exists (flat-rate plan eligibility)', () => {
    expect(resourcesOfType(regional, 'AWS::CloudFront::CachePolicy')).toHaveLength(0);
  });

  test('both origins are signed by a SigV4 "always" Lambda OAC; the api origin waits 60 s', () => {
    const [oacId, oac] = onlyResource(regional, 'AWS::CloudFront::OriginAccessControl');
    expect(at(propsOf(oac), 'OriginAccessControlConfig')).toMatchObject({
      OriginAccessControlOriginType: 'lambda',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    for (const functionId of [apiId, webId]) {
      const origin = originById(regional, originIdFor(regional, functionId));
      expect(getAtt(origin.OriginAccessControlId)).toEqual([oacId, 'Id']);
    }
    expect(at(originById(regional, originIdFor(regional, apiId)), 'CustomOriginConfig', 'OriginReadTimeout')).toBe(60);
  });

  test('CloudFront may invoke each function URL (InvokeFunctionUrl and InvokeFunction) only for this distribution', () => {
    const [distributionId] = onlyResource(regional, 'AWS::CloudFront::Distribution');
    for (const functionId of [apiId, webId]) {
      const [urlId] = functionUrlOf(regional, functionId);
      const permissions = resourcesOfType(regional, 'AWS::Lambda::Permission')
        .map(([, permission]) => propsOf(permission))
        .filter((permission) => getAtt(permission.FunctionName)?.[0] === urlId);
      expect(new Set(permissions.map((permission) => permission.Action))).toEqual(
        new Set(['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction']),
      );
      for (const permission of permissions) {
        expect(permission.Principal).toBe('cloudfront.amazonaws.com');
        expect(flatten(permission.SourceArn)).toMatch(
          new RegExp(`:cloudfront::<Ref:AWS::AccountId>:distribution/<Ref:${distributionId}>$`),
        );
      }
    }
  });

  test('error responses are never cached and never rewritten to another status or page', () => {
    const errors = asArray(distributionConfig(regional).CustomErrorResponses) as Behavior[];
    expect(errors.map((e) => e.ErrorCode)).toEqual(expect.arrayContaining([403, 404, 500, 502, 503, 504]));
    for (const error of errors) {
      expect(error.ErrorCachingMinTTL).toBe(0);
      expect(error.ResponseCode).toBeUndefined();
      expect(error.ResponsePagePath).toBeUndefined();
    }
  });

  test('the distribution uses the web ACL of the us-east-1 stack', () => {
    const webAclId = distributionConfig(regional).WebACLId;
    const [aclId] = onlyResource(edge, 'AWS::WAFv2::WebACL');
    expect(getAtt(crossRegionExport(regional, edge, webAclId))).toEqual([aclId, 'Arn']);
  });

  test('without a custom domain there are no aliases, and the site URLs are not plain settings', () => {
    const config = distributionConfig(regional);
    expect(config.Aliases).toBeUndefined();
    // They come from the site-URL secret, written once the distribution exists (test/stacks/site-url.test.ts).
    expect(apiEnv.CONSOLE_API_URL).toBeUndefined();
    expect(lambdaSecretRefs(apiEnv)).toHaveProperty('CONSOLE_API_URL');
  });

  test('the default web ACL allows by default and fits the Free plan with metrics on every rule', () => {
    const acl = webAcl(edge);
    expect(acl.Scope).toBe('CLOUDFRONT');
    expect(acl.DefaultAction).toEqual({ Allow: {} });
    expect(resourcesOfType(edge, 'AWS::WAFv2::IPSet')).toHaveLength(0);
    expect(allowRule(edge)).toBeUndefined();
    const all = rules(edge);
    expect(all.length).toBeLessThanOrEqual(FREE_PLAN_MAX_RULES);
    expect(new Set(all.map((r) => r.Priority)).size).toBe(all.length);
    for (const rule of [...all, acl]) {
      expect(rule.VisibilityConfig).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
      expect(at(rule, 'VisibilityConfig', 'MetricName')).toEqual(expect.any(String));
    }
  });

  test('managed rules: common (body and User-Agent rules counted), known bad inputs, IP reputation; rate limit 3000', () => {
    expect(new Set(managedRuleGroups(edge))).toEqual(
      new Set([
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesAmazonIpReputationList',
      ]),
    );
    const common = rules(edge).find(
      (r) => at(r, 'Statement', 'ManagedRuleGroupStatement', 'Name') === 'AWSManagedRulesCommonRuleSet',
    );
    // Counted so they only add labels; the last rule blocks those labels off the api paths (test/stacks/web-acl.test.ts).
    const counted = asArray(at(common, 'Statement', 'ManagedRuleGroupStatement', 'RuleActionOverrides'));
    expect(counted).toHaveLength(6);
    expect(counted).toEqual(
      expect.arrayContaining(
        [
          'NoUserAgent_HEADER',
          'SizeRestrictions_BODY',
          'EC2MetaDataSSRF_BODY',
          'GenericLFI_BODY',
          'GenericRFI_BODY',
          'CrossSiteScripting_BODY',
        ].map((Name) => ({ Name, ActionToUse: { Count: {} } })),
      ),
    );
    expect(rules(edge).map((r) => r.Name)).toContain('BlockFlaggedOutsideApiPaths');
    const rate = rules(edge).find((r) => at(r, 'Statement', 'RateBasedStatement') !== undefined);
    expect(rate?.Action).toEqual({ Block: {} });
    expect(at(rate, 'Statement', 'RateBasedStatement')).toMatchObject({ Limit: 3000, AggregateKeyType: 'IP' });
    expect(rules(edge).some((r) => at(r, 'Statement', 'NotStatement', 'Statement', 'GeoMatchStatement'))).toBe(false);
  });
});

describe('custom domain and IPv4 + IPv6 allow-lists', () => {
  let regional: CfnTemplate;
  let edge: CfnTemplate;

  beforeAll(() => {
    ({ regional, edge } = synthTemplates({
      domain: CUSTOM_DOMAIN,
      waf: {
        allowedIpv4Cidrs: ['203.0.113.0/24'],
        allowedIpv6Cidrs: ['2001:db8::/32'],
        rateLimitPer5Minutes: 1200,
      },
    }));
  });
  afterAll(removeSynthOutputs);

  test('the distribution answers on the domain with the ACM certificate and TLS 1.2_2021', () => {
    const config = distributionConfig(regional);
    expect(config.Aliases).toEqual([CUSTOM_DOMAIN.name]);
    expect(config.ViewerCertificate).toMatchObject({
      AcmCertificateArn: CUSTOM_DOMAIN.certificateArn,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
  });

  test('Dify builds its URLs from the custom domain', () => {
    const apiEnv = lambdaEnvironment(resource(regional, outputTarget(regional, 'ApiFunctionName')));
    const refs = lambdaSecretRefs(apiEnv);
    expect(refs.CONSOLE_API_URL).toMatch(/#siteUrl$/);
    expect(refs.CONSOLE_WEB_URL).toBe(refs.CONSOLE_API_URL);
    const [, publisher] = onlyResource(regional, 'Custom::AWS');
    expect(flatten(propsOf(publisher).Create)).toContain(`https://${CUSTOM_DOMAIN.name}`);
    expect(flatten(regional.Outputs?.SiteUrl?.Value)).toBe(`https://${CUSTOM_DOMAIN.name}`);
  });

  test('anything not allow-listed is blocked; one allow rule ORs the IPv4 and IPv6 sets', () => {
    expect(webAcl(edge).DefaultAction).toEqual({ Block: {} });
    const v4 = ipSet(edge, 'IPV4');
    const v6 = ipSet(edge, 'IPV6');
    if (!v4 || !v6) throw new Error('expected both an IPv4 and an IPv6 IP set');
    expect(propsOf(v4[1])).toMatchObject({ Scope: 'CLOUDFRONT', Addresses: ['203.0.113.0/24'] });
    expect(propsOf(v6[1])).toMatchObject({ Scope: 'CLOUDFRONT', Addresses: ['2001:db8::/32'] });
    const statements = asArray(at(allowedAddresses(edge), 'OrStatement', 'Statements'));
    expect(new Set(statements.map((s) => JSON.stringify(getAtt(at(s, 'IPSetReferenceStatement', 'Arn')))))).toEqual(
      new Set([JSON.stringify([v4[0], 'Arn']), JSON.stringify([v6[0], 'Arn'])]),
    );
  });

  test('the allow-list configuration still fits the Free plan, and the rate limit follows the setting', () => {
    expect(rules(edge).length).toBeLessThanOrEqual(FREE_PLAN_MAX_RULES);
    const rate = rules(edge).find((r) => at(r, 'Statement', 'RateBasedStatement') !== undefined);
    expect(at(rate, 'Statement', 'RateBasedStatement', 'Limit')).toBe(1200);
    for (const rule of rules(edge)) {
      expect(rule.VisibilityConfig).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
    }
  });
});

describe('IPv4-only allow-list, a country allow-list and no IP reputation list', () => {
  let edge: CfnTemplate;

  beforeAll(() => {
    ({ edge } = synthTemplates({
      waf: { allowedIpv4Cidrs: ['203.0.113.0/24'], allowedCountries: ['JP'], ipReputation: false },
    }));
  });
  afterAll(removeSynthOutputs);

  test('a single IPv4 set is referenced directly by the allow rule', () => {
    expect(ipSet(edge, 'IPV6')).toBeUndefined();
    const v4 = ipSet(edge, 'IPV4');
    if (!v4) throw new Error('expected an IPv4 IP set');
    const statement = allowedAddresses(edge);
    expect(at(statement, 'OrStatement')).toBeUndefined();
    expect(getAtt(at(statement, 'IPSetReferenceStatement', 'Arn'))).toEqual([v4[0], 'Arn']);
  });

  test('requests from outside the allowed countries are blocked by a geo rule', () => {
    const geo = rules(edge).filter((r) => at(r, 'Statement', 'NotStatement', 'Statement', 'GeoMatchStatement'));
    expect(geo).toHaveLength(1);
    expect(geo[0].Action).toEqual({ Block: {} });
    expect(at(geo[0], 'Statement', 'NotStatement', 'Statement', 'GeoMatchStatement', 'CountryCodes')).toEqual(['JP']);
  });

  test('the IP reputation list is left out', () => {
    expect(managedRuleGroups(edge)).not.toContain('AWSManagedRulesAmazonIpReputationList');
    expect(managedRuleGroups(edge)).toContain('AWSManagedRulesKnownBadInputsRuleSet');
  });
});
