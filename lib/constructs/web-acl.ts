import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { PLUGIN_ENDPOINT_PATH_PATTERN } from '../../functions/upload-relay/routes';
import { API_PATH_PATTERNS } from './distribution';

/**
 * Paths whose bodies are Dify api traffic: the api's own, and the plugin endpoints (`/e/*`, webhooks and APIs that
 * plugins serve through the daemon, docs/adr/0016). The relay's upload routes are all inside API_PATH_PATTERNS.
 */
export const WAF_API_PATH_PATTERNS: readonly string[] = [...API_PATH_PATTERNS, PLUGIN_ENDPOINT_PATH_PATTERN];

/**
 * Core rule set rules that misfire on Dify's api traffic, with the label each one adds. Dify bodies legitimately
 * carry HTML and scripts (prompts, code nodes), `../` and URLs with IPv4 hosts (code, HTTP-request nodes, DSL
 * imports) and are often over 8 KB; SDKs and API clients often send no User-Agent. The Common rule group runs these
 * rules in count mode, and the web ACL's last rule blocks their labels everywhere except on Dify's api paths
 * (docs/adr/0008-waf-rules-within-the-free-plan.md). Labels as listed in the AWS WAF Developer Guide, "Core rule
 * set (CRS) managed rule group" (the label suffix is not the rule name's: `_BODY` rules label `_Body`).
 */
export const API_COUNTED_COMMON_RULES: ReadonlyArray<{ readonly rule: string; readonly label: string }> = [
  { rule: 'NoUserAgent_HEADER', label: 'awswaf:managed:aws:core-rule-set:NoUserAgent_Header' },
  { rule: 'SizeRestrictions_BODY', label: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body' },
  { rule: 'EC2MetaDataSSRF_BODY', label: 'awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body' },
  { rule: 'GenericLFI_BODY', label: 'awswaf:managed:aws:core-rule-set:GenericLFI_Body' },
  { rule: 'GenericRFI_BODY', label: 'awswaf:managed:aws:core-rule-set:GenericRFI_Body' },
  { rule: 'CrossSiteScripting_BODY', label: 'awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body' },
];

/**
 * The URI path prefixes CloudFront routes to the api origin, derived from the distribution's own path patterns so
 * the two cannot drift. Only `/prefix/*` patterns are supported: a pattern of another shape would need its own
 * WAF match, so it fails here instead of silently widening or narrowing the api side.
 */
export function apiPathPrefixes(patterns: readonly string[] = WAF_API_PATH_PATTERNS): string[] {
  return patterns.map((pattern) => {
    if (!/^\/[a-z0-9/_-]+\/\*$/.test(pattern)) {
      throw new Error(`WebAcl: api path pattern "${pattern}" is not of the form /prefix/*; extend apiPathPrefixes`);
    }
    return pattern.slice(0, -1);
  });
}

export interface WebAclProps {
  /**
   * IPv4 CIDRs allowed in. With any allow-list set, the default action becomes block.
   * @default []
   */
  readonly allowedIpv4Cidrs?: string[];
  /**
   * IPv6 CIDRs allowed in (WAF keeps the two families in separate IP sets).
   * @default []
   */
  readonly allowedIpv6Cidrs?: string[];
  /**
   * Country codes allowed in; everything else is blocked.
   * @default [] (no geo rule)
   */
  readonly allowedCountries?: string[];
  /**
   * Requests per 5 minutes per IP before blocking.
   * @default 3000
   */
  readonly rateLimitPer5Minutes?: number;
  /**
   * Include AWSManagedRulesAmazonIpReputationList.
   * @default true
   */
  readonly ipReputation?: boolean;
}

type Statement = wafv2.CfnWebACL.StatementProperty;

const uriPathMatch = (
  positionalConstraint: 'STARTS_WITH' | 'CONTAINS',
  searchString: string,
  transformation: 'NONE' | 'URL_DECODE',
): Statement => ({
  byteMatchStatement: {
    fieldToMatch: { uriPath: {} },
    positionalConstraint,
    searchString,
    textTransformations: [{ priority: 0, type: transformation }],
  },
});

const anyOf = (statements: Statement[]): Statement =>
  statements.length === 1 ? statements[0] : { orStatement: { statements } };

/**
 * True for a request CloudFront routes to the api origin — and only for one spelled exactly that way. The raw path
 * must start with an api prefix as written (case-sensitive, no decoding: CloudFront path patterns are
 * case-sensitive and Dify's routes are lower case, so `/V1/` or `/%761/` is "not api"), and must contain no `..`
 * even after URL decoding: CloudFront normalizes the path (RFC 3986, dot segments removed) before it picks a cache
 * behavior (CloudFront DG, "Cache behavior settings", path pattern), so `/v1/../x` would be matched as `/x` and go
 * to the web origin. Every doubtful spelling therefore lands on the blocking side, never the counting side.
 */
function onApiPath(): Statement {
  return {
    andStatement: {
      statements: [
        anyOf(apiPathPrefixes().map((prefix) => uriPathMatch('STARTS_WITH', prefix, 'NONE'))),
        { notStatement: { statement: uriPathMatch('CONTAINS', '..', 'URL_DECODE') } },
      ],
    },
  };
}

/** A request one of the counted Common rules flagged, outside Dify's api paths: what the last rule blocks. */
function flaggedOutsideApiPaths(): Statement {
  return {
    andStatement: {
      statements: [
        anyOf(API_COUNTED_COMMON_RULES.map(({ label }) => ({ labelMatchStatement: { scope: 'LABEL', key: label } }))),
        { notStatement: { statement: onApiPath() } },
      ],
    },
  };
}

/**
 * The CloudFront web ACL (scope CLOUDFRONT, so it lives in us-east-1). Five rules by default, the most the
 * CloudFront flat-rate Free plan accepts (AWS WAF DG, "Using AWS WAF with CloudFront flat-rate pricing plans"):
 * rate limit, IP reputation, known bad inputs, common rules (body and User-Agent rules counted), and one last rule
 * that blocks those counted matches outside the api paths — or, with an allow-list, allows listed addresses except
 * such matches, in front of a default block. A country allow-list is an opt-in sixth rule. Why one rule does both
 * jobs, and the rejected alternatives: docs/adr/0008-waf-rules-within-the-free-plan.md.
 */
export class WebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly ipv4Set?: wafv2.CfnIPSet;
  readonly ipv6Set?: wafv2.CfnIPSet;

  constructor(scope: Construct, id: string, props: WebAclProps = {}) {
    super(scope, id);
    const ipv4 = props.allowedIpv4Cidrs ?? [];
    const ipv6 = props.allowedIpv6Cidrs ?? [];
    const countries = props.allowedCountries ?? [];
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });

    if (ipv4.length > 0) {
      this.ipv4Set = new wafv2.CfnIPSet(this, 'AllowedIpv4', {
        scope: 'CLOUDFRONT',
        ipAddressVersion: 'IPV4',
        addresses: ipv4,
        description: 'Dify: IPv4 ranges allowed to reach the site',
      });
    }
    if (ipv6.length > 0) {
      this.ipv6Set = new wafv2.CfnIPSet(this, 'AllowedIpv6', {
        scope: 'CLOUDFRONT',
        ipAddressVersion: 'IPV6',
        addresses: ipv6,
        description: 'Dify: IPv6 ranges allowed to reach the site',
      });
    }

    const managed = (
      name: string,
      priority: number,
      overrides: wafv2.CfnWebACL.RuleActionOverrideProperty[] = [],
    ): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ...(overrides.length > 0 ? { ruleActionOverrides: overrides } : {}),
        },
      },
      visibilityConfig: visibility(name),
    });

    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      {
        name: 'RateLimitPerIp',
        priority: 0,
        action: { block: {} },
        statement: {
          rateBasedStatement: {
            limit: props.rateLimitPer5Minutes ?? 3000,
            aggregateKeyType: 'IP',
            evaluationWindowSec: 300,
          },
        },
        visibilityConfig: visibility('RateLimitPerIp'),
      },
    ];
    if (props.ipReputation ?? true) rules.push(managed('AWSManagedRulesAmazonIpReputationList', 1));
    rules.push(managed('AWSManagedRulesKnownBadInputsRuleSet', 2));
    // Count, not block: a counted rule still adds its label, which the last rule reads (it must run after this one).
    rules.push(
      managed(
        'AWSManagedRulesCommonRuleSet',
        3,
        API_COUNTED_COMMON_RULES.map(({ rule }) => ({ name: rule, actionToUse: { count: {} } })),
      ),
    );
    if (countries.length > 0) {
      rules.push({
        name: 'BlockOutsideAllowedCountries',
        priority: 4,
        action: { block: {} },
        statement: { notStatement: { statement: { geoMatchStatement: { countryCodes: countries } } } },
        visibilityConfig: visibility('BlockOutsideAllowedCountries'),
      });
    }
    const ipStatements: Statement[] = [this.ipv4Set, this.ipv6Set]
      .filter((set): set is wafv2.CfnIPSet => set !== undefined)
      .map((set) => ({ ipSetReferenceStatement: { arn: set.attrArn } }));
    // The last rule. Allow is terminating, so with an allow-list the rule allows a listed address only when the
    // request is not a counted match outside the api paths; everything else meets the default block. Without an
    // allow-list the default is allow, so the same condition becomes a block rule.
    if (ipStatements.length > 0) {
      rules.push({
        name: 'AllowListedAddresses',
        priority: 5,
        action: { allow: {} },
        statement: {
          andStatement: {
            statements: [anyOf(ipStatements), { notStatement: { statement: flaggedOutsideApiPaths() } }],
          },
        },
        visibilityConfig: visibility('AllowListedAddresses'),
      });
    } else {
      rules.push({
        name: 'BlockFlaggedOutsideApiPaths',
        priority: 5,
        action: { block: {} },
        statement: flaggedOutsideApiPaths(),
        visibilityConfig: visibility('BlockFlaggedOutsideApiPaths'),
      });
    }

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      description: 'Dify edge: allow-lists, managed rules and a per-IP rate limit',
      defaultAction: ipStatements.length > 0 ? { block: {} } : { allow: {} },
      rules,
      visibilityConfig: visibility('DifyEdgeWebAcl'),
    });
  }

  get arn(): string {
    return this.webAcl.attrArn;
  }
}
