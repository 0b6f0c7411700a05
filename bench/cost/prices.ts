/**
 * The one price table of the cost model: on-demand list prices in USD for the two regions the project is priced in,
 * us-east-1 (the region of the published ALB baseline) and ap-northeast-1 (the project's default region,
 * lib/config.ts `region`). Nothing here was fetched live from this machine: every unit names the AWS pricing page it
 * belongs to in `source`, and says there when the figure could only be read from a third-party copy or not at all.
 * Check the pages before relying on a number and update `reviewedOn`.
 *
 * `kind` says what a figure is:
 *  - 'unit': an AWS list unit price; the model multiplies it by sizes and hours. A higher unit price never makes
 *    anything cheaper (test/bench/cost.test.ts relies on it to compare regions).
 *  - 'allowance': a quantity that is not a price — a free tier, what a flat-rate plan includes, a discount fraction.
 *  - 'published': a total somebody published; used only to check the model (never to compute a line).
 */
export interface UnitPrice {
  readonly usd: number;
  readonly unit: string;
  readonly kind: 'unit' | 'allowance';
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
  /** Where CloudFront's viewer-side prices are taken from: the edge region next to this AWS region's users. */
  readonly cloudfrontEdgeRegion: string;
  readonly lambda: {
    readonly requestPerMillion: UnitPrice;
    readonly gbSecondX86: UnitPrice;
    readonly gbSecondArm: UnitPrice;
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
  /** GetMetricData, which the sleep controller calls once a run for the relay's Invocations. */
  readonly cloudwatchMetrics: { readonly getMetricDataPer1000Metrics: UnitPrice };
  readonly efs: { readonly standardGbMonth: UnitPrice; readonly oneZoneGbMonth: UnitPrice };
  readonly internetTransfer: { readonly freeGbPerMonth: UnitPrice; readonly perGb: UnitPrice };
}

const unit = (usd: number, unitName: string, source: string): UnitPrice => ({
  usd,
  unit: unitName,
  kind: 'unit',
  source,
});

const allowance = (usd: number, unitName: string, source: string): UnitPrice => ({
  usd,
  unit: unitName,
  kind: 'allowance',
  source,
});

const LAMBDA_PRICING = 'https://aws.amazon.com/lambda/pricing/';
const FARGATE_PRICING = 'https://aws.amazon.com/fargate/pricing/';
const CLOUDFRONT_PRICING = 'https://aws.amazon.com/cloudfront/pricing/ (pay-as-you-go and flat-rate plans)';
const ELASTICACHE_PRICING = 'https://aws.amazon.com/elasticache/pricing/ (Valkey is priced 20% below Redis OSS)';
const VPC_PRICING = 'https://aws.amazon.com/vpc/pricing/';
const ELB_PRICING = 'https://aws.amazon.com/elasticloadbalancing/pricing/';
const WAF_PRICING = 'https://aws.amazon.com/waf/pricing/';
const AURORA_PRICING = 'https://aws.amazon.com/rds/aurora/pricing/';
const EC2_PRICING = 'https://aws.amazon.com/ec2/pricing/on-demand/';
const SECRETS_PRICING = 'https://aws.amazon.com/secrets-manager/pricing/';
const CLOUDWATCH_PRICING = 'https://aws.amazon.com/cloudwatch/pricing/';
const EFS_PRICING = 'https://aws.amazon.com/efs/pricing/';
/** Appended to a source whose figure could not be read from this machine (no internet, pages rendered client-side). */
const UNCONFIRMED = 'not confirmed from this machine, check the page';

/** Allowances and global prices that are the same for both tables. */
function sharedCloudFront(edge: string, httpsPer10k: UnitPrice, transferPerGb: UnitPrice): RegionPrices['cloudfront'] {
  return {
    freeRequestsPerMonth: allowance(10_000_000, 'requests/month in the always-free tier', CLOUDFRONT_PRICING),
    freeTransferGbPerMonth: allowance(1024, 'GB/month out in the always-free tier', CLOUDFRONT_PRICING),
    httpsPer10kRequests: httpsPer10k,
    transferPerGb,
    flatFreePlanMonth: unit(0, 'per month, flat-rate Free plan (bundles WAF and logs ingestion)', CLOUDFRONT_PRICING),
    flatFreePlanRequests: allowance(1_000_000, 'requests/month included in the Free plan', CLOUDFRONT_PRICING),
    flatFreePlanTransferGb: allowance(100, 'GB/month included in the Free plan', CLOUDFRONT_PRICING),
    flatProPlanMonth: unit(
      15,
      `per month, flat-rate Pro plan (same price at every edge; ${edge} viewers)`,
      CLOUDFRONT_PRICING,
    ),
    flatProPlanRequests: allowance(10_000_000, 'requests/month included in the Pro plan', CLOUDFRONT_PRICING),
    flatProPlanTransferGb: allowance(50 * 1024, 'GB/month included in the Pro plan', CLOUDFRONT_PRICING),
  };
}

/** WAF and Lambda@Edge are priced the same everywhere (a CloudFront web ACL lives in us-east-1 anyway). */
const WAF = {
  webAclMonth: unit(5, 'per web ACL-month', WAF_PRICING),
  ruleMonth: unit(1, 'per rule-month', WAF_PRICING),
  requestPerMillion: unit(0.6, 'per 1 M requests inspected', WAF_PRICING),
};
const LAMBDA_EDGE = {
  requestPerMillion: unit(0.6, 'per 1 M requests', LAMBDA_PRICING),
  gbSecond: unit(0.00005001, 'per GB-second', LAMBDA_PRICING),
};

export const PRICES: Readonly<Record<string, RegionPrices>> = {
  'us-east-1': {
    reviewedOn: '2026-12-02',
    hoursPerMonth: 730,
    cloudfrontEdgeRegion: 'North America',
    lambda: {
      requestPerMillion: unit(0.2, 'per 1 M requests', LAMBDA_PRICING),
      gbSecondX86: unit(0.0000166667, 'per GB-second (x86)', LAMBDA_PRICING),
      gbSecondArm: unit(0.0000133334, 'per GB-second (arm64)', LAMBDA_PRICING),
      provisionedGbSecond: unit(0.0000041667, 'per GB-second of provisioned concurrency', LAMBDA_PRICING),
      // SnapStart for Python and .NET (the rate a container-image snapshot is billed at is not listed separately):
      // reviewed 2026-12-02 from the Lambda pricing page's SnapStart section (its rate table is rendered client-side;
      // the figures match the page's us-east-1 worked example as quoted by awsnegotiations.com, May 2026).
      snapStartCacheGbSecond: unit(0.0000015046, 'per GB-second of SnapStart snapshot cached', LAMBDA_PRICING),
      snapStartRestoreGb: unit(0.0001397998, 'per GB restored from a SnapStart snapshot', LAMBDA_PRICING),
    },
    lambdaEdge: LAMBDA_EDGE,
    fargate: {
      vcpuHour: unit(0.04048, 'per vCPU-hour (Linux/x86)', FARGATE_PRICING),
      gbHour: unit(0.004445, 'per GB-hour', FARGATE_PRICING),
      // Spot prices move; ~70% off on-demand is what the published ALB figures imply ($2.7 for 0.25 vCPU/0.5 GB).
      spotDiscount: allowance(0.7, 'fraction off on-demand (Fargate Spot, approximate)', FARGATE_PRICING),
    },
    alb: {
      hour: unit(0.0225, 'per ALB-hour', ELB_PRICING),
      lcuHour: unit(0.008, 'per LCU-hour', ELB_PRICING),
    },
    cloudfront: sharedCloudFront(
      'North America',
      unit(0.01, 'per 10,000 HTTPS requests past the free tier (North America)', CLOUDFRONT_PRICING),
      unit(0.085, 'per GB out past the free tier (North America, first 10 TB)', CLOUDFRONT_PRICING),
    ),
    waf: WAF,
    aurora: {
      acuHour: unit(0.12, 'per ACU-hour (Aurora Serverless v2, standard)', AURORA_PRICING),
      storageGbMonth: unit(0.1, 'per GB-month (standard storage)', AURORA_PRICING),
    },
    valkeyNodeHour: {
      'cache.t4g.micro': unit(0.0128, 'per node-hour (Valkey)', ELASTICACHE_PRICING),
      'cache.t4g.small': unit(0.0256, 'per node-hour (Valkey)', ELASTICACHE_PRICING),
      'cache.t4g.medium': unit(0.052, 'per node-hour (Valkey)', ELASTICACHE_PRICING),
    },
    ec2Hour: {
      't4g.nano': unit(0.0042, 'per instance-hour (NAT instance)', EC2_PRICING),
      't4g.micro': unit(0.0084, 'per instance-hour (NAT instance)', EC2_PRICING),
    },
    natGatewayHour: unit(0.045, 'per NAT gateway-hour (plus $0.045/GB processed)', VPC_PRICING),
    publicIpv4Hour: unit(0.005, 'per public IPv4 address-hour', VPC_PRICING),
    secretMonth: unit(0.4, 'per secret-month', SECRETS_PRICING),
    cloudwatchLogs: {
      ingestPerGb: unit(0.5, 'per GB ingested', CLOUDWATCH_PRICING),
      storagePerGbMonth: unit(0.03, 'per GB-month stored', CLOUDWATCH_PRICING),
    },
    cloudwatchMetrics: {
      getMetricDataPer1000Metrics: unit(0.01, 'per 1,000 metrics requested (GetMetricData)', CLOUDWATCH_PRICING),
    },
    efs: {
      // $0.30 is on the EFS pricing page's Standard example (read from a stored copy of the page).
      standardGbMonth: unit(0.3, 'per GB-month (EFS Standard, Regional)', EFS_PRICING),
      oneZoneGbMonth: unit(0.16, 'per GB-month (EFS One Zone)', `${EFS_PRICING} (${UNCONFIRMED})`),
    },
    internetTransfer: {
      freeGbPerMonth: allowance(100, 'GB/month out to the internet free (all services)', EC2_PRICING),
      perGb: unit(0.09, 'per GB out to the internet past the free 100 GB', EC2_PRICING),
    },
  },
  // Asia Pacific (Tokyo). Where a figure could be read, the source names the copy it was read from; the AWS pages
  // render their region tables client-side and this machine has no internet, so none was read from AWS directly.
  'ap-northeast-1': {
    reviewedOn: '2026-12-02',
    hoursPerMonth: 730,
    cloudfrontEdgeRegion: 'Japan',
    lambda: {
      // Lambda's request and duration prices are the same in Tokyo as in us-east-1.
      requestPerMillion: unit(0.2, 'per 1 M requests', `${LAMBDA_PRICING} (${UNCONFIRMED})`),
      gbSecondX86: unit(0.0000166667, 'per GB-second (x86)', `${LAMBDA_PRICING} (${UNCONFIRMED})`),
      gbSecondArm: unit(0.0000133334, 'per GB-second (arm64)', `${LAMBDA_PRICING} (${UNCONFIRMED})`),
      provisionedGbSecond: unit(
        0.0000041667,
        'per GB-second of provisioned concurrency',
        `${LAMBDA_PRICING} (${UNCONFIRMED})`,
      ),
      // The us-east-1 SnapStart rates; Tokyo's were not found.
      snapStartCacheGbSecond: unit(
        0.0000015046,
        'per GB-second of SnapStart snapshot cached',
        `${LAMBDA_PRICING} (us-east-1 rate, ${UNCONFIRMED})`,
      ),
      snapStartRestoreGb: unit(
        0.0001397998,
        'per GB restored from a SnapStart snapshot',
        `${LAMBDA_PRICING} (us-east-1 rate, ${UNCONFIRMED})`,
      ),
    },
    lambdaEdge: LAMBDA_EDGE,
    fargate: {
      // Read from clyr.co.jp "AWS fargate 運用の料金・費用相場" (Tokyo, Linux/x86, quoting the AWS page as of 2025-09).
      vcpuHour: unit(0.05056, 'per vCPU-hour (Linux/x86)', `${FARGATE_PRICING} (Tokyo, as quoted by clyr.co.jp)`),
      gbHour: unit(0.005536, 'per GB-hour', `${FARGATE_PRICING} (Tokyo, as quoted by clyr.co.jp)`),
      spotDiscount: allowance(
        0.7,
        'fraction off on-demand (Fargate Spot, approximate)',
        `${FARGATE_PRICING} (Spot prices move; the us-east-1 approximation, ${UNCONFIRMED})`,
      ),
    },
    alb: {
      // Read from aws.darcy-it.com "ELBのコスト料金" (Tokyo: $0.0243 per ALB-hour, $0.008 per LCU-hour).
      hour: unit(0.0243, 'per ALB-hour', `${ELB_PRICING} (Tokyo, as quoted by aws.darcy-it.com)`),
      lcuHour: unit(0.008, 'per LCU-hour', `${ELB_PRICING} (Tokyo, as quoted by aws.darcy-it.com)`),
    },
    cloudfront: sharedCloudFront(
      'Japan',
      // classmethod "CloudFrontにかかる料金を図にしてみた" lists Japan's HTTP rate ($0.009 per 10,000) and $0.114/GB;
      // the HTTPS rate ($0.012) is from memory of the same page.
      unit(0.012, 'per 10,000 HTTPS requests past the free tier (Japan)', `${CLOUDFRONT_PRICING} (${UNCONFIRMED})`),
      unit(
        0.114,
        'per GB out past the free tier (Japan, first 10 TB)',
        `${CLOUDFRONT_PRICING} (Japan, as quoted by dev.classmethod.jp)`,
      ),
    ),
    waf: WAF,
    aurora: {
      // A 2022 third-party page quotes $0.20 for Tokyo; a later one says Tokyo and Osaka were reduced since. $0.15 is
      // the figure we know, not one read here.
      acuHour: unit(0.15, 'per ACU-hour (Aurora Serverless v2, standard)', `${AURORA_PRICING} (${UNCONFIRMED})`),
      storageGbMonth: unit(0.12, 'per GB-month (standard storage)', `${AURORA_PRICING} (${UNCONFIRMED})`),
    },
    valkeyNodeHour: {
      // Redis OSS cache.t4g.micro in Tokyo is $0.025/h as far as we know; Valkey is 20% below.
      'cache.t4g.micro': unit(0.02, 'per node-hour (Valkey)', `${ELASTICACHE_PRICING} (${UNCONFIRMED})`),
      'cache.t4g.small': unit(0.04, 'per node-hour (Valkey)', `${ELASTICACHE_PRICING} (${UNCONFIRMED})`),
      'cache.t4g.medium': unit(0.0808, 'per node-hour (Valkey)', `${ELASTICACHE_PRICING} (${UNCONFIRMED})`),
    },
    ec2Hour: {
      // Read from jamasakura.com "AWS: NAT Instance1" (Tokyo t4g.nano $0.0054/h, NAT gateway $0.062/h).
      't4g.nano': unit(
        0.0054,
        'per instance-hour (NAT instance)',
        `${EC2_PRICING} (Tokyo, as quoted by jamasakura.com)`,
      ),
      't4g.micro': unit(0.0108, 'per instance-hour (NAT instance)', `${EC2_PRICING} (twice t4g.nano, ${UNCONFIRMED})`),
    },
    // Read from awsi.click "The Real Reason NAT Gateway Is Expensive" (ap-northeast-1: $0.062/h and $0.062/GB).
    natGatewayHour: unit(
      0.062,
      'per NAT gateway-hour (plus $0.062/GB processed)',
      `${VPC_PRICING} (Tokyo, as quoted by awsi.click)`,
    ),
    publicIpv4Hour: unit(
      0.005,
      'per public IPv4 address-hour (same in every region)',
      `${VPC_PRICING} (${UNCONFIRMED})`,
    ),
    secretMonth: unit(0.4, 'per secret-month (same in every region)', `${SECRETS_PRICING} (${UNCONFIRMED})`),
    cloudwatchLogs: {
      // clyr.co.jp quotes $0.77; $0.76 is the figure we know from the page. Either way above us-east-1's $0.50.
      ingestPerGb: unit(0.76, 'per GB ingested', `${CLOUDWATCH_PRICING} (${UNCONFIRMED})`),
      storagePerGbMonth: unit(0.033, 'per GB-month stored', `${CLOUDWATCH_PRICING} (${UNCONFIRMED})`),
    },
    cloudwatchMetrics: {
      getMetricDataPer1000Metrics: unit(
        0.01,
        'per 1,000 metrics requested (GetMetricData)',
        `${CLOUDWATCH_PRICING} (${UNCONFIRMED})`,
      ),
    },
    efs: {
      // Read from gritbeaver.com (Tokyo EFS Standard $0.36 per GB-month).
      standardGbMonth: unit(
        0.36,
        'per GB-month (EFS Standard, Regional)',
        `${EFS_PRICING} (Tokyo, as quoted by gritbeaver.com)`,
      ),
      oneZoneGbMonth: unit(0.192, 'per GB-month (EFS One Zone)', `${EFS_PRICING} (${UNCONFIRMED})`),
    },
    internetTransfer: {
      freeGbPerMonth: allowance(100, 'GB/month out to the internet free (all services)', EC2_PRICING),
      // Read from awsi.click and jamasakura.com ($0.114/GB out of Tokyo, first 10 TB).
      perGb: unit(
        0.114,
        'per GB out to the internet past the free 100 GB',
        `${EC2_PRICING} (Tokyo, as quoted by awsi.click)`,
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
 * The ALB design's published low-cost month (us-east-1). Only the tests and the CLI's "as published" check read
 * these; the model derives its own lines from the unit prices above. (An older version of that README listed api and worker as two
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
