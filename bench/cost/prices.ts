/**
 * The one price table of the cost model. On-demand list prices in USD, reviewed 2026-11-24 against the AWS pricing
 * pages named in each `source`; they were not re-fetched from this machine, so check the pages before relying on a
 * number and update `reviewedOn`.
 *
 * `kind` says where a figure comes from:
 *  - 'unit': an AWS list unit price; the model multiplies it by sizes and hours.
 *  - 'published': a total somebody published; used only to check the model (never to compute a line).
 */
export interface UnitPrice {
  readonly usd: number;
  readonly unit: string;
  readonly kind: 'unit';
  readonly source: string;
}

export interface PublishedFigure {
  readonly usd: number;
  readonly what: string;
  readonly kind: 'published';
  readonly source: string;
}

export interface RegionPrices {
  readonly reviewedOn: string;
  readonly hoursPerMonth: number;
  readonly lambda: {
    readonly requestPerMillion: UnitPrice;
    readonly gbSecondX86: UnitPrice;
    readonly provisionedGbSecond: UnitPrice;
    /** SnapStart: each published version's cached snapshot, per GB of memory per second it stays cached. */
    readonly snapStartCacheGbSecond: UnitPrice;
    /** SnapStart: each restore of an environment from the snapshot, per GB of memory restored. */
    readonly snapStartRestoreGb: UnitPrice;
  };
  readonly lambdaEdge: { readonly requestPerMillion: UnitPrice; readonly gbSecond: UnitPrice };
  readonly fargate: { readonly vcpuHour: UnitPrice; readonly gbHour: UnitPrice; readonly spotDiscount: UnitPrice };
  readonly alb: { readonly hour: UnitPrice; readonly lcuHour: UnitPrice };
  readonly cloudfront: {
    readonly freeRequestsPerMonth: UnitPrice;
    readonly freeTransferGbPerMonth: UnitPrice;
    readonly httpsPer10kRequests: UnitPrice;
    readonly transferPerGb: UnitPrice;
    readonly flatFreePlanMonth: UnitPrice;
    readonly flatFreePlanRequests: UnitPrice;
    readonly flatFreePlanTransferGb: UnitPrice;
    readonly flatProPlanMonth: UnitPrice;
    readonly flatProPlanRequests: UnitPrice;
    readonly flatProPlanTransferGb: UnitPrice;
  };
  readonly waf: {
    readonly webAclMonth: UnitPrice;
    readonly ruleMonth: UnitPrice;
    readonly requestPerMillion: UnitPrice;
  };
  readonly aurora: { readonly acuHour: UnitPrice; readonly storageGbMonth: UnitPrice };
  readonly valkeyNodeHour: Readonly<Record<string, UnitPrice>>;
  readonly ec2Hour: Readonly<Record<string, UnitPrice>>;
  readonly natGatewayHour: UnitPrice;
  readonly publicIpv4Hour: UnitPrice;
  readonly secretMonth: UnitPrice;
  readonly cloudwatchLogs: { readonly ingestPerGb: UnitPrice; readonly storagePerGbMonth: UnitPrice };
  readonly internetTransfer: { readonly freeGbPerMonth: UnitPrice; readonly perGb: UnitPrice };
}

const unit = (usd: number, unitName: string, source: string): UnitPrice => ({
  usd,
  unit: unitName,
  kind: 'unit',
  source,
});

const LAMBDA_PRICING = 'https://aws.amazon.com/lambda/pricing/';
const FARGATE_PRICING = 'https://aws.amazon.com/fargate/pricing/';
const CLOUDFRONT_PRICING = 'https://aws.amazon.com/cloudfront/pricing/ (pay-as-you-go and flat-rate plans)';
const ELASTICACHE_PRICING = 'https://aws.amazon.com/elasticache/pricing/ (Valkey is priced 20% below Redis OSS)';
const VPC_PRICING = 'https://aws.amazon.com/vpc/pricing/';

export const PRICES: Readonly<Record<string, RegionPrices>> = {
  'us-east-1': {
    reviewedOn: '2026-11-24',
    hoursPerMonth: 730,
    lambda: {
      requestPerMillion: unit(0.2, 'per 1 M requests', LAMBDA_PRICING),
      gbSecondX86: unit(0.0000166667, 'per GB-second (x86)', LAMBDA_PRICING),
      provisionedGbSecond: unit(0.0000041667, 'per GB-second of provisioned concurrency', LAMBDA_PRICING),
      // SnapStart for Python and .NET (the rate a container-image snapshot is billed at is not listed separately):
      // reviewed 2026-12-02 from the Lambda pricing page's SnapStart section (its rate table is rendered client-side;
      // the figures match the page's us-east-1 worked example as quoted by awsnegotiations.com, May 2026).
      snapStartCacheGbSecond: unit(0.0000015046, 'per GB-second of SnapStart snapshot cached', LAMBDA_PRICING),
      snapStartRestoreGb: unit(0.0001397998, 'per GB restored from a SnapStart snapshot', LAMBDA_PRICING),
    },
    lambdaEdge: {
      requestPerMillion: unit(0.6, 'per 1 M requests', LAMBDA_PRICING),
      gbSecond: unit(0.00005001, 'per GB-second', LAMBDA_PRICING),
    },
    fargate: {
      vcpuHour: unit(0.04048, 'per vCPU-hour (Linux/x86)', FARGATE_PRICING),
      gbHour: unit(0.004445, 'per GB-hour', FARGATE_PRICING),
      // Spot prices move; ~70% off on-demand is what the published ALB figures imply ($2.7 for 0.25 vCPU/0.5 GB).
      spotDiscount: unit(0.7, 'fraction off on-demand (Fargate Spot, approximate)', FARGATE_PRICING),
    },
    alb: {
      hour: unit(0.0225, 'per ALB-hour', 'https://aws.amazon.com/elasticloadbalancing/pricing/'),
      lcuHour: unit(0.008, 'per LCU-hour', 'https://aws.amazon.com/elasticloadbalancing/pricing/'),
    },
    cloudfront: {
      freeRequestsPerMonth: unit(10_000_000, 'requests/month in the always-free tier', CLOUDFRONT_PRICING),
      freeTransferGbPerMonth: unit(1024, 'GB/month out in the always-free tier', CLOUDFRONT_PRICING),
      httpsPer10kRequests: unit(
        0.01,
        'per 10,000 HTTPS requests past the free tier (North America)',
        CLOUDFRONT_PRICING,
      ),
      transferPerGb: unit(0.085, 'per GB out past the free tier (North America, first 10 TB)', CLOUDFRONT_PRICING),
      flatFreePlanMonth: unit(0, 'per month, flat-rate Free plan (bundles WAF and logs ingestion)', CLOUDFRONT_PRICING),
      flatFreePlanRequests: unit(1_000_000, 'requests/month included in the Free plan', CLOUDFRONT_PRICING),
      flatFreePlanTransferGb: unit(100, 'GB/month included in the Free plan', CLOUDFRONT_PRICING),
      flatProPlanMonth: unit(15, 'per month, flat-rate Pro plan', CLOUDFRONT_PRICING),
      flatProPlanRequests: unit(10_000_000, 'requests/month included in the Pro plan', CLOUDFRONT_PRICING),
      flatProPlanTransferGb: unit(50 * 1024, 'GB/month included in the Pro plan', CLOUDFRONT_PRICING),
    },
    waf: {
      webAclMonth: unit(5, 'per web ACL-month', 'https://aws.amazon.com/waf/pricing/'),
      ruleMonth: unit(1, 'per rule-month', 'https://aws.amazon.com/waf/pricing/'),
      requestPerMillion: unit(0.6, 'per 1 M requests inspected', 'https://aws.amazon.com/waf/pricing/'),
    },
    aurora: {
      acuHour: unit(
        0.12,
        'per ACU-hour (Aurora Serverless v2, standard)',
        'https://aws.amazon.com/rds/aurora/pricing/',
      ),
      storageGbMonth: unit(0.1, 'per GB-month (standard storage)', 'https://aws.amazon.com/rds/aurora/pricing/'),
    },
    valkeyNodeHour: {
      'cache.t4g.micro': unit(0.0128, 'per node-hour (Valkey)', ELASTICACHE_PRICING),
      'cache.t4g.small': unit(0.0256, 'per node-hour (Valkey)', ELASTICACHE_PRICING),
      'cache.t4g.medium': unit(0.052, 'per node-hour (Valkey)', ELASTICACHE_PRICING),
    },
    ec2Hour: {
      't4g.nano': unit(0.0042, 'per instance-hour (NAT instance)', 'https://aws.amazon.com/ec2/pricing/on-demand/'),
      't4g.micro': unit(0.0084, 'per instance-hour (NAT instance)', 'https://aws.amazon.com/ec2/pricing/on-demand/'),
    },
    natGatewayHour: unit(0.045, 'per NAT gateway-hour (plus $0.045/GB processed)', VPC_PRICING),
    publicIpv4Hour: unit(0.005, 'per public IPv4 address-hour', VPC_PRICING),
    secretMonth: unit(0.4, 'per secret-month', 'https://aws.amazon.com/secrets-manager/pricing/'),
    cloudwatchLogs: {
      ingestPerGb: unit(0.5, 'per GB ingested', 'https://aws.amazon.com/cloudwatch/pricing/'),
      storagePerGbMonth: unit(0.03, 'per GB-month stored', 'https://aws.amazon.com/cloudwatch/pricing/'),
    },
    internetTransfer: {
      freeGbPerMonth: unit(
        100,
        'GB/month out to the internet free (all services)',
        'https://aws.amazon.com/ec2/pricing/on-demand/',
      ),
      perGb: unit(
        0.09,
        'per GB out to the internet past the free 100 GB',
        'https://aws.amazon.com/ec2/pricing/on-demand/',
      ),
    },
  },
};

const ALB_README = 'aws-samples/dify-self-hosted-on-aws README, "Cost" (us-east-1, cheap configuration)';
const published = (usd: number, what: string): PublishedFigure => ({
  usd,
  what,
  kind: 'published',
  source: ALB_README,
});

/**
 * The ALB design's published low-cost month. Only the test and the `--check-published` output read these; the model
 * derives its own lines from the unit prices above. (An older version of that README listed api and worker as two
 * $10.7 tasks and no IPv4/secrets lines, $53.8 in total.)
 */
export const PUBLISHED_ALB_LOW_COST = {
  total: published(47.9, 'total per month'),
  lines: {
    aurora: published(0, 'Aurora Serverless v2 at 0 ACU'),
    valkey: published(9.2, 'ElastiCache Valkey cache.t4g.micro'),
    webFargate: published(2.7, 'Fargate web task, 0.25 vCPU, 24/7'),
    apiWorkerFargate: published(10.7, 'Fargate api/worker task, 1 vCPU, 24/7'),
    alb: published(17.5, 'Application Load Balancer'),
    nat: published(3.0, 'NAT instance t4g.nano'),
    publicIpv4: published(3.6, 'public IPv4 address'),
    secrets: published(1.2, '3 Secrets Manager secrets'),
  },
} as const;
