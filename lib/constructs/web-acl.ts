import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

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

/**
 * The CloudFront web ACL (scope CLOUDFRONT, so it lives in us-east-1). The default set is five rules — rate limit,
 * IP reputation, known bad inputs, common rules, allow-list — the most the CloudFront flat-rate Free plan accepts.
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
    // SizeRestrictions_BODY blocks any body over 8 KB: file uploads, long prompts, DSL imports. Count it instead.
    rules.push(
      managed('AWSManagedRulesCommonRuleSet', 3, [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]),
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
    const ipStatements: wafv2.CfnWebACL.StatementProperty[] = [this.ipv4Set, this.ipv6Set]
      .filter((set): set is wafv2.CfnIPSet => set !== undefined)
      .map((set) => ({ ipSetReferenceStatement: { arn: set.attrArn } }));
    if (ipStatements.length > 0) {
      rules.push({
        name: 'AllowListedAddresses',
        priority: 5,
        action: { allow: {} },
        statement: ipStatements.length === 1 ? ipStatements[0] : { orStatement: { statements: ipStatements } },
        visibilityConfig: visibility('AllowListedAddresses'),
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
