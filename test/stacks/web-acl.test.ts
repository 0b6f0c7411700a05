import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { API_PATH_PATTERNS, RELAY_PATH_PATTERNS } from '../../lib/constructs/distribution';
import { PLUGIN_ENDPOINT_PATH_PATTERN } from '../../functions/upload-relay/routes';
import { WebAcl, WebAclProps, apiPathPrefixes } from '../../lib/constructs/web-acl';
import { asArray, at, getAtt, isRecord, propsOf, resourcesOfType, templateJson } from './template-helpers';

/**
 * The WebAcl construct on its own (no app synth), read back from its CloudFormation. The rules are checked both by
 * shape and by what they decide: a small evaluator below applies WAF's documented semantics to the synthesized
 * statements, so a regrouped but equivalent statement still passes and a wrong one fails.
 */

/** The CloudFront flat-rate Free plan accepts at most five rules (AWS WAF DG, "Using AWS WAF with CloudFront flat-rate pricing plans"). */
const FREE_PLAN_MAX_RULES = 5;
/** Capacity included in a web ACL's price; above it WAF charges more (AWS WAF DG, "Web ACL capacity units (WCUs)"). */
const INCLUDED_WCUS = 1500;
/** AWS WAF DG, "AWS Managed Rules rule groups list": the WCUs of each managed group used. */
const MANAGED_GROUP_WCUS: Record<string, number> = {
  AWSManagedRulesCommonRuleSet: 700,
  AWSManagedRulesKnownBadInputsRuleSet: 200,
  AWSManagedRulesAmazonIpReputationList: 25,
};
/**
 * The Core rule set rules that must only count on Dify's api paths, and the label each adds (AWS WAF DG, "Core rule
 * set (CRS) managed rule group"; note the label's `_Body`/`_Header` spelling).
 */
const COUNTED_RULE_LABELS: Record<string, string> = {
  NoUserAgent_HEADER: 'awswaf:managed:aws:core-rule-set:NoUserAgent_Header',
  SizeRestrictions_BODY: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body',
  EC2MetaDataSSRF_BODY: 'awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body',
  GenericLFI_BODY: 'awswaf:managed:aws:core-rule-set:GenericLFI_Body',
  GenericRFI_BODY: 'awswaf:managed:aws:core-rule-set:GenericRFI_Body',
  CrossSiteScripting_BODY: 'awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body',
};
const XSS = COUNTED_RULE_LABELS.CrossSiteScripting_BODY;
const NO_USER_AGENT = COUNTED_RULE_LABELS.NoUserAgent_HEADER;
const BIG_BODY = COUNTED_RULE_LABELS.SizeRestrictions_BODY;

type Rule = Record<string, unknown>;

function synthAcl(props: WebAclProps = {}): { acl: Record<string, unknown>; ipSets: Record<string, string> } {
  const stack = new Stack(new App(), 'Edge', { env: { account: '123456789012', region: 'us-east-1' } });
  new WebAcl(stack, 'WebAcl', props);
  const template = templateJson(Template.fromStack(stack));
  const [acl] = resourcesOfType(template, 'AWS::WAFv2::WebACL');
  const ipSets = Object.fromEntries(
    resourcesOfType(template, 'AWS::WAFv2::IPSet').map(([id, set]) => [id, propsOf(set).IPAddressVersion as string]),
  );
  return { acl: propsOf(acl[1]), ipSets };
}

function rulesOf(acl: Record<string, unknown>): Rule[] {
  return [...(asArray(acl.Rules) as Rule[])].sort((a, b) => (a.Priority as number) - (b.Priority as number));
}

function ruleNamed(acl: Record<string, unknown>, name: string): Rule {
  const found = rulesOf(acl).filter((rule) => rule.Name === name);
  if (found.length !== 1) throw new Error(`expected one rule ${name}, found ${found.length}`);
  return found[0];
}

const lastRule = (acl: Record<string, unknown>): Rule => rulesOf(acl)[rulesOf(acl).length - 1];

// ---- A model of the WAF statement types the last rule uses (AWS WAF DG, "Rule statements"). -------------------

interface Request {
  /** The URI path as the viewer sent it. */
  readonly path: string;
  /** Labels added by earlier rules (here: the counted Common rules). */
  readonly labels?: string[];
  /** Versions of the IP sets the source address is in. */
  readonly listedIn?: Array<'IPV4' | 'IPV6'>;
}

/** URL_DECODE: percent-decoding of every %XX (AWS WAF DG, "Text transformations"). */
const urlDecode = (value: string): string =>
  value.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

function transform(value: string, transformations: unknown): string {
  let result = value;
  const ordered = [...(asArray(transformations) as Array<{ Priority: number; Type: string }>)].sort(
    (a, b) => a.Priority - b.Priority,
  );
  for (const { Type } of ordered) {
    if (Type === 'URL_DECODE') result = urlDecode(result);
    else if (Type !== 'NONE') throw new Error(`the evaluator does not model text transformation ${Type}`);
  }
  return result;
}

function matches(statement: unknown, request: Request, ipSets: Record<string, string>): boolean {
  if (!isRecord(statement)) throw new Error('statement is not an object');
  const [[type, body]] = Object.entries(statement);
  switch (type) {
    case 'AndStatement':
      return asArray(at(body, 'Statements')).every((s) => matches(s, request, ipSets));
    case 'OrStatement':
      return asArray(at(body, 'Statements')).some((s) => matches(s, request, ipSets));
    case 'NotStatement':
      return !matches(at(body, 'Statement'), request, ipSets);
    case 'LabelMatchStatement':
      expect(at(body, 'Scope')).toBe('LABEL');
      return (request.labels ?? []).includes(at(body, 'Key') as string);
    case 'IPSetReferenceStatement': {
      const ref = getAtt(at(body, 'Arn'));
      if (!ref) throw new Error('IP set reference without Fn::GetAtt');
      return (request.listedIn ?? []).some((version) => ipSets[ref[0]] === version);
    }
    case 'ByteMatchStatement': {
      expect(at(body, 'FieldToMatch')).toEqual({ UriPath: {} });
      // Byte matches compare bytes: case-sensitive unless a LOWERCASE transformation is applied.
      const value = transform(request.path, at(body, 'TextTransformations'));
      const search = at(body, 'SearchString') as string;
      const constraint = at(body, 'PositionalConstraint');
      if (constraint === 'STARTS_WITH') return value.startsWith(search);
      if (constraint === 'CONTAINS') return value.includes(search);
      if (constraint === 'EXACTLY') return value === search;
      throw new Error(`the evaluator does not model positional constraint ${String(constraint)}`);
    }
    default:
      throw new Error(`the evaluator does not model ${type}`);
  }
}

/** What the last rule plus the default action decide (the earlier rules are managed groups, rate and geo). */
function decision(acl: Record<string, unknown>, ipSets: Record<string, string>, request: Request): 'allow' | 'block' {
  const rule = lastRule(acl);
  if (matches(rule.Statement, request, ipSets))
    return isRecord(rule.Action) && 'Allow' in rule.Action ? 'allow' : 'block';
  return isRecord(acl.DefaultAction) && 'Allow' in acl.DefaultAction ? 'allow' : 'block';
}

// ---- WCUs as documented per statement type. ---------------------------------------------------------------------

/** AWS WAF DG: label match 1, IP set 1, geo 1, string match 2 (exact/starts/ends) or 10 (contains) + 10 per transformation, logical statements the sum of what they nest. */
function statementWcus(statement: unknown): number {
  if (!isRecord(statement)) throw new Error('statement is not an object');
  const [[type, body]] = Object.entries(statement);
  switch (type) {
    case 'AndStatement':
    case 'OrStatement':
      return asArray(at(body, 'Statements')).reduce<number>((sum, s) => sum + statementWcus(s), 0);
    case 'NotStatement':
      return statementWcus(at(body, 'Statement'));
    case 'LabelMatchStatement':
    case 'IPSetReferenceStatement':
    case 'GeoMatchStatement':
      return 1;
    case 'ByteMatchStatement': {
      const base = ['CONTAINS', 'CONTAINS_WORD'].includes(at(body, 'PositionalConstraint') as string) ? 10 : 2;
      const transformations = (asArray(at(body, 'TextTransformations')) as Array<{ Type: string }>).filter(
        (t) => t.Type !== 'NONE',
      );
      return base + 10 * transformations.length;
    }
    case 'RateBasedStatement':
      // 2, plus 30 per custom aggregation key and the scope-down statement's cost; this one has neither.
      expect(at(body, 'AggregateKeyType')).toBe('IP');
      expect(at(body, 'ScopeDownStatement')).toBeUndefined();
      return 2;
    case 'ManagedRuleGroupStatement': {
      const wcus = MANAGED_GROUP_WCUS[at(body, 'Name') as string];
      if (wcus === undefined) throw new Error(`no documented WCUs for ${String(at(body, 'Name'))}`);
      return wcus;
    }
    default:
      throw new Error(`no WCU model for ${type}`);
  }
}

const aclWcus = (acl: Record<string, unknown>): number =>
  rulesOf(acl).reduce((sum, rule) => sum + statementWcus(rule.Statement), 0);

// ---- Tests ------------------------------------------------------------------------------------------------------

describe('default web ACL (no allow-list, no countries)', () => {
  const { acl, ipSets } = synthAcl();

  test('five rules in this order, default action allow', () => {
    expect(rulesOf(acl).map((r) => r.Name)).toEqual([
      'RateLimitPerIp',
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesCommonRuleSet',
      'BlockFlaggedOutsideApiPaths',
    ]);
    expect(rulesOf(acl)).toHaveLength(FREE_PLAN_MAX_RULES);
    expect(new Set(rulesOf(acl).map((r) => r.Priority)).size).toBe(FREE_PLAN_MAX_RULES);
    expect(acl.DefaultAction).toEqual({ Allow: {} });
  });

  test('the Common rule set counts its body rules and NoUserAgent_HEADER, and nothing else', () => {
    const common = ruleNamed(acl, 'AWSManagedRulesCommonRuleSet');
    expect(common.OverrideAction).toEqual({ None: {} });
    const overrides = asArray(at(common, 'Statement', 'ManagedRuleGroupStatement', 'RuleActionOverrides'));
    expect(overrides).toHaveLength(Object.keys(COUNTED_RULE_LABELS).length);
    for (const override of overrides) expect(at(override, 'ActionToUse')).toEqual({ Count: {} });
    expect(new Set(overrides.map((o) => at(o, 'Name')))).toEqual(new Set(Object.keys(COUNTED_RULE_LABELS)));
  });

  test('the last rule blocks, reads exactly the counted rules’ labels, and runs after the Common rule set', () => {
    const rule = lastRule(acl);
    expect(rule.Action).toEqual({ Block: {} });
    expect(rule.Priority as number).toBeGreaterThan(ruleNamed(acl, 'AWSManagedRulesCommonRuleSet').Priority as number);
    const labelKeys = JSON.stringify(rule.Statement).match(/awswaf:managed:aws:core-rule-set:[A-Za-z0-9_]+/g);
    expect(new Set(labelKeys)).toEqual(new Set(Object.values(COUNTED_RULE_LABELS)));
  });

  test('the api prefixes it exempts are the distribution’s api path patterns and /e/, matched raw and case-sensitively', () => {
    const starts =
      JSON.stringify(lastRule(acl).Statement).match(/"SearchString":"[^"]*","TextTransformations":\[[^\]]*\]/g) ?? [];
    expect(apiPathPrefixes()).toEqual(['/console/api/', '/api/', '/v1/', '/files/', '/mcp/', '/triggers/', '/e/']);
    expect(apiPathPrefixes()).toEqual(
      [...API_PATH_PATTERNS, PLUGIN_ENDPOINT_PATH_PATTERN].map((p) => p.replace(/\*$/, '')),
    );
    // Every relay route (lambda mode) is under one of them, so uploads keep the api side's counted body rules.
    for (const pattern of RELAY_PATH_PATTERNS) {
      expect(apiPathPrefixes().some((prefix) => pattern.startsWith(prefix))).toBe(true);
    }
    for (const prefix of apiPathPrefixes()) {
      expect(starts).toContain(`"SearchString":"${prefix}","TextTransformations":[{"Priority":0,"Type":"NONE"}]`);
    }
    expect(JSON.stringify(lastRule(acl).Statement)).not.toContain('LOWERCASE');
  });

  test.each([
    ['/v1/chat-messages', [XSS]],
    ['/v1/workflows/run', [NO_USER_AGENT, BIG_BODY]],
    ['/console/api/apps/imports', [BIG_BODY, COUNTED_RULE_LABELS.GenericRFI_BODY, COUNTED_RULE_LABELS.GenericLFI_BODY]],
    ['/console/api/apps/1/workflows/draft', [COUNTED_RULE_LABELS.EC2MetaDataSSRF_BODY]],
    ['/api/chat-messages', [XSS]],
    ['/files/abc/file-preview', [NO_USER_AGENT]],
    ['/mcp/server/abc/mcp', [NO_USER_AGENT]],
    ['/triggers/webhook/abc', [BIG_BODY]],
    ['/signin', []],
    ['/', []],
  ])('%s with %j passes (labels only counted on api paths)', (path, labels) => {
    expect(decision(acl, ipSets, { path, labels })).toBe('allow');
  });

  test.each([
    ['/', [XSS]],
    ['/apps', [NO_USER_AGENT]],
    ['/signin', [BIG_BODY]],
    ['/_next/static/chunk.js', [NO_USER_AGENT]],
    // Not exactly an api prefix: CloudFront would send these to the web origin (or they are deliberate oddities).
    ['/V1/chat-messages', [XSS]],
    ['/Console/api/apps', [XSS]],
    ['/v1', [XSS]],
    ['/v1x/chat-messages', [XSS]],
    ['/console/apix', [XSS]],
    ['//v1/chat-messages', [XSS]],
    ['/%761/chat-messages', [XSS]],
    // Dot segments: CloudFront normalizes them away before it matches a behavior, so these are not api requests.
    ['/v1/../signin', [XSS]],
    ['/v1/%2e%2e/signin', [XSS]],
    ['/api/.%2E/signin', [XSS]],
    ['/files/x%2F..%2Fy', [NO_USER_AGENT]],
  ])('%s with %j is blocked', (path, labels) => {
    expect(decision(acl, ipSets, { path, labels })).toBe('block');
  });

  test('capacity: the documented WCUs add up to 967, under the 1,500 included', () => {
    // The sum is stated in docs/adr/0008-waf-rules-within-the-free-plan.md; update both together.
    expect(statementWcus(lastRule(acl).Statement)).toBe(40);
    expect(aclWcus(acl)).toBe(967);
    expect(aclWcus(acl)).toBeLessThanOrEqual(INCLUDED_WCUS);
  });
});

describe('IPv4 and IPv6 allow-lists', () => {
  const { acl, ipSets } = synthAcl({ allowedIpv4Cidrs: ['203.0.113.0/24'], allowedIpv6Cidrs: ['2001:db8::/32'] });

  test('still five rules; the last allows, and the default action blocks', () => {
    expect(rulesOf(acl).map((r) => r.Name)).toEqual([
      'RateLimitPerIp',
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesCommonRuleSet',
      'AllowListedAddresses',
    ]);
    expect(lastRule(acl).Action).toEqual({ Allow: {} });
    expect(acl.DefaultAction).toEqual({ Block: {} });
    expect(Object.values(ipSets).sort()).toEqual(['IPV4', 'IPV6']);
  });

  test.each([
    [{ path: '/v1/chat-messages', labels: [XSS], listedIn: ['IPV4'] }, 'allow'],
    [{ path: '/console/api/apps/imports', labels: [BIG_BODY], listedIn: ['IPV6'] }, 'allow'],
    [{ path: '/apps', labels: [], listedIn: ['IPV6'] }, 'allow'],
    [{ path: '/apps', labels: [XSS], listedIn: ['IPV4'] }, 'block'],
    [{ path: '/V1/chat-messages', labels: [NO_USER_AGENT], listedIn: ['IPV4'] }, 'block'],
    [{ path: '/v1/../apps', labels: [XSS], listedIn: ['IPV4'] }, 'block'],
    [{ path: '/v1/chat-messages', labels: [], listedIn: [] }, 'block'],
    [{ path: '/apps', labels: [], listedIn: [] }, 'block'],
  ] as Array<[Request, 'allow' | 'block']>)('%j → %s', (request, expected) => {
    expect(decision(acl, ipSets, request)).toBe(expected);
  });

  test('capacity: 969 WCUs', () => {
    expect(aclWcus(acl)).toBe(969);
  });
});

describe('countries', () => {
  test('a country list is the sixth rule, before the last rule (an Allow there would skip it)', () => {
    const { acl } = synthAcl({
      allowedIpv4Cidrs: ['203.0.113.0/24'],
      allowedIpv6Cidrs: ['2001:db8::/32'],
      allowedCountries: ['JP'],
    });
    expect(rulesOf(acl)).toHaveLength(FREE_PLAN_MAX_RULES + 1);
    const geo = ruleNamed(acl, 'BlockOutsideAllowedCountries');
    expect(geo.Action).toEqual({ Block: {} });
    expect(geo.Priority as number).toBeLessThan(lastRule(acl).Priority as number);
    expect(lastRule(acl).Name).toBe('AllowListedAddresses');
    expect(aclWcus(acl)).toBe(970);
  });

  test('without an allow-list the country rule is still the sixth', () => {
    const { acl } = synthAcl({ allowedCountries: ['JP'] });
    expect(rulesOf(acl)).toHaveLength(FREE_PLAN_MAX_RULES + 1);
    expect(lastRule(acl).Name).toBe('BlockFlaggedOutsideApiPaths');
    expect(acl.DefaultAction).toEqual({ Allow: {} });
  });

  test('ipReputation: false makes room for the country rule within five', () => {
    const { acl } = synthAcl({ allowedIpv4Cidrs: ['203.0.113.0/24'], allowedCountries: ['JP'], ipReputation: false });
    expect(rulesOf(acl)).toHaveLength(FREE_PLAN_MAX_RULES);
  });
});

test('an api path pattern the WAF match cannot express fails the synth instead of drifting', () => {
  expect(() => apiPathPrefixes(['/v1/*', '/e/*.json'])).toThrow(/not of the form \/prefix\/\*/);
  expect(() => apiPathPrefixes(['/V1/*'])).toThrow(/not of the form/);
});
