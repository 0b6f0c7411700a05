import { PRICES, RegionPrices } from './prices';

export type CloudFrontPlan = 'payg' | 'free' | 'pro';
export type NatKind = 'instance' | 'gateway';
export type ProfileName = 'low' | 'team';
export type DesignName = 'lambda' | 'alb';

export interface FargateTask {
  readonly name: string;
  readonly vcpu: number;
  readonly memoryGb: number;
  readonly spot: boolean;
}

/** Everything the estimate depends on. Sizes mirror lib/config.ts DEFAULT_CONFIG; usage is a guess you override. */
export interface CostInputs {
  readonly profile: ProfileName;
  readonly region: string;
  /** Viewer requests per day to the site (pages, API calls, assets). */
  readonly requestsPerDay: number;
  /** Fraction of viewer requests CloudFront answers from its cache (Next.js static assets): no Lambda behind them. */
  readonly cachedShare: number;
  /** Fraction of the remaining requests that go to the api (the rest to web). */
  readonly apiShare: number;
  readonly avgResponseKb: number;
  /** Streamed chat answers per day; each keeps an api invocation (and its billing) open for `chatSeconds`. */
  readonly chatsPerDay: number;
  readonly chatSeconds: number;
  /** Hours per working day the team uses Dify (keep-warm pings and Aurora active time follow it). */
  readonly activeHours: number;
  readonly workingDays: number;
  readonly cloudfrontPlan: CloudFrontPlan;
  readonly wafRules: number;
  readonly apiMemoryMb: number;
  readonly apiAvgMs: number;
  readonly webMemoryMb: number;
  readonly webAvgMs: number;
  readonly keepWarm: boolean;
  readonly keepWarmIntervalMinutes: number;
  readonly provisionedConcurrency: number;
  readonly coldStartsPerDay: number;
  /** Container-image functions are billed for INIT; Dify's api needs 20-30 s of it. */
  readonly coldStartInitSeconds: number;
  /** api.snapStart: cold starts are restores (restore charge + billed restore) and one snapshot stays cached. */
  readonly snapStart: boolean;
  /** Billed restore time of a SnapStart restore, seconds (Lambda's REPORT "Billed Restore Duration"). */
  readonly snapStartRestoreSeconds: number;
  readonly edgeMemoryMb: number;
  readonly edgeAvgMs: number;
  /** ACU while the database is in use; 0 = paused all month, which is what the published ALB figure assumes. */
  readonly auroraAcu: number;
  readonly auroraStorageGb: number;
  readonly valkeyNodeType: string;
  readonly nat: NatKind;
  readonly natInstanceType: string;
  readonly lambdaBackendTasks: readonly FargateTask[];
  readonly albTasks: readonly FargateTask[];
  readonly lambdaSecrets: number;
  readonly albSecrets: number;
  /** Public IPv4 addresses both designs hold (the NAT instance's). */
  readonly publicIpv4: number;
  /** Extra public IPv4 of an internet-facing ALB (one per AZ). The published figure leaves them out: default 0. */
  readonly albPublicIpv4: number;
  readonly logsGbPerMonth: number;
}

const SHARED_DEFAULTS = {
  region: 'us-east-1',
  cachedShare: 0.4,
  apiShare: 0.7,
  avgResponseKb: 30,
  workingDays: 22,
  cloudfrontPlan: 'payg' as CloudFrontPlan,
  // The design's default web ACL fits the flat-rate Free plan's limit of 5 rules.
  wafRules: 5,
  apiMemoryMb: 3008,
  apiAvgMs: 300,
  webMemoryMb: 1024,
  webAvgMs: 100,
  keepWarmIntervalMinutes: 5,
  provisionedConcurrency: 0,
  coldStartInitSeconds: 25,
  snapStart: false,
  // Unmeasured estimate: replace with the 'lambda restore' median of `npm run bench -- cold-start`.
  snapStartRestoreSeconds: 1,
  edgeMemoryMb: 128,
  edgeAvgMs: 10,
  valkeyNodeType: 'cache.t4g.micro',
  nat: 'instance' as NatKind,
  natInstanceType: 't4g.nano',
  // One backend task holds the workers, beat, plugin daemon, internal api and sandbox (lib/config.ts backend 1024/4096).
  lambdaBackendTasks: [
    { name: 'backend (workers, beat, plugin daemon, internal api, sandbox)', vcpu: 1, memoryGb: 4, spot: true },
  ],
  // The published cheap configuration: web 256 CPU, api and worker sharing one 1024 CPU task, all on Spot.
  albTasks: [
    { name: 'web', vcpu: 0.25, memoryGb: 0.5, spot: true },
    { name: 'api/worker', vcpu: 1, memoryGb: 2, spot: true },
  ],
  // Dify's shared keys (one secret, a field each: lib/constructs/dify-secrets.ts), Aurora's generated master
  // credentials and the site-URL setting (lib/constructs/site-url.ts); lambda mode adds the upload relay's origin
  // secret (lib/constructs/upload-relay.ts). test/stacks/foundation.test.ts counts them.
  lambdaSecrets: 4,
  albSecrets: 3,
  publicIpv4: 1,
  albPublicIpv4: 0,
};

export const PROFILES: Readonly<Record<ProfileName, CostInputs>> = {
  low: {
    ...SHARED_DEFAULTS,
    profile: 'low',
    requestsPerDay: 1000,
    chatsPerDay: 20,
    chatSeconds: 15,
    activeHours: 8,
    keepWarm: false,
    coldStartsPerDay: 3,
    auroraAcu: 0,
    auroraStorageGb: 1,
    logsGbPerMonth: 1,
  },
  team: {
    ...SHARED_DEFAULTS,
    profile: 'team',
    requestsPerDay: 20_000,
    chatsPerDay: 300,
    chatSeconds: 20,
    activeHours: 10,
    keepWarm: true,
    coldStartsPerDay: 2,
    auroraAcu: 0.5,
    auroraStorageGb: 10,
    logsGbPerMonth: 5,
  },
};

export interface CostLine {
  readonly item: string;
  readonly usd: number;
  /** How the figure was computed, in units a reader can check. */
  readonly detail: string;
}

export interface DesignCost {
  readonly design: DesignName;
  readonly title: string;
  readonly lines: CostLine[];
  readonly total: number;
}

export interface CostEstimate {
  readonly inputs: CostInputs;
  readonly pricesReviewedOn: string;
  readonly designs: DesignCost[];
  readonly notes: string[];
}

export class CostInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostInputError';
  }
}

const MIB_PER_GB = 1024;
const KB_PER_GB = 1024 * 1024;

function money(value: number): number {
  return Math.round(value * 100) / 100;
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function pricesFor(region: string): RegionPrices {
  const prices = PRICES[region];
  if (!prices) {
    throw new CostInputError(
      `no price table for region '${region}' (have: ${Object.keys(PRICES).join(', ')}); ` +
        'add one to bench/cost/prices.ts with its sources',
    );
  }
  return prices;
}

function fargateLine(task: FargateTask, prices: RegionPrices): CostLine {
  const hourly = task.vcpu * prices.fargate.vcpuHour.usd + task.memoryGb * prices.fargate.gbHour.usd;
  const factor = task.spot ? 1 - prices.fargate.spotDiscount.usd : 1;
  return {
    item: `Fargate${task.spot ? ' Spot' : ''}: ${task.name}`,
    usd: hourly * prices.hoursPerMonth * factor,
    detail: `${task.vcpu} vCPU, ${task.memoryGb} GB × ${prices.hoursPerMonth} h${task.spot ? ` at ${Math.round(prices.fargate.spotDiscount.usd * 100)}% off` : ''}`,
  };
}

/** Lines both designs share: database, cache, NAT, addresses, secrets, logs. */
function dataLayerLines(inputs: CostInputs, prices: RegionPrices, secrets: number, extraIpv4: number): CostLine[] {
  const activeHours = inputs.activeHours * inputs.workingDays;
  const valkey = prices.valkeyNodeHour[inputs.valkeyNodeType];
  const natInstance = prices.ec2Hour[inputs.natInstanceType];
  const natHourly = inputs.nat === 'gateway' ? prices.natGatewayHour.usd : natInstance.usd;
  const addresses = inputs.publicIpv4 + extraIpv4;
  return [
    {
      item: 'Aurora Serverless v2 (ACU)',
      usd: inputs.auroraAcu * activeHours * prices.aurora.acuHour.usd,
      detail:
        inputs.auroraAcu === 0
          ? '0 ACU: paused all month (published low-cost assumption)'
          : `${inputs.auroraAcu} ACU × ${count(activeHours)} active h, 0 ACU while paused`,
    },
    {
      item: 'Aurora storage',
      usd: inputs.auroraStorageGb * prices.aurora.storageGbMonth.usd,
      detail: `${inputs.auroraStorageGb} GB-month`,
    },
    {
      item: `ElastiCache Valkey ${inputs.valkeyNodeType}`,
      usd: valkey.usd * prices.hoursPerMonth,
      detail: `1 node × ${prices.hoursPerMonth} h`,
    },
    {
      item: inputs.nat === 'gateway' ? 'NAT gateway' : `NAT instance ${inputs.natInstanceType}`,
      usd: natHourly * prices.hoursPerMonth,
      detail: `${prices.hoursPerMonth} h${inputs.nat === 'gateway' ? ', data processing not included' : ''}`,
    },
    {
      item: 'public IPv4',
      usd: addresses * prices.publicIpv4Hour.usd * prices.hoursPerMonth,
      detail: `${addresses} address(es) × ${prices.hoursPerMonth} h`,
    },
    { item: 'Secrets Manager', usd: secrets * prices.secretMonth.usd, detail: `${secrets} secrets` },
    {
      item: 'CloudWatch Logs',
      usd:
        inputs.logsGbPerMonth * (prices.cloudwatchLogs.ingestPerGb.usd + prices.cloudwatchLogs.storagePerGbMonth.usd),
      detail: `${inputs.logsGbPerMonth} GB ingested and kept`,
    },
  ];
}

function validate(inputs: CostInputs, prices: RegionPrices): void {
  const numbers: Array<[string, number, number, number]> = [
    ['requests-per-day', inputs.requestsPerDay, 0, 1e9],
    ['active-hours', inputs.activeHours, 0, 24],
    ['working-days', inputs.workingDays, 0, 31],
    ['chats-per-day', inputs.chatsPerDay, 0, 1e8],
    ['chat-seconds', inputs.chatSeconds, 0, 900],
    ['waf-rules', inputs.wafRules, 0, 100],
    ['api-memory', inputs.apiMemoryMb, 128, 10240],
    ['provisioned', inputs.provisionedConcurrency, 0, 1000],
    ['aurora-acu', inputs.auroraAcu, 0, 256],
    ['aurora-storage-gb', inputs.auroraStorageGb, 0, 1e6],
    ['alb-public-ipv4', inputs.albPublicIpv4, 0, 100],
  ];
  for (const [name, value, min, max] of numbers) {
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new CostInputError(`--${name} must be a number from ${min} to ${max}, got ${value}`);
    }
  }
  if (!prices.valkeyNodeHour[inputs.valkeyNodeType]) {
    throw new CostInputError(
      `no price for Valkey node '${inputs.valkeyNodeType}' (have: ${Object.keys(prices.valkeyNodeHour).join(', ')})`,
    );
  }
  if (!prices.ec2Hour[inputs.natInstanceType]) {
    throw new CostInputError(`no price for NAT instance type '${inputs.natInstanceType}'`);
  }
}

export function estimateCosts(inputs: CostInputs): CostEstimate {
  const prices = pricesFor(inputs.region);
  validate(inputs, prices);
  const hours = prices.hoursPerMonth;
  const daysPerMonth = hours / 24;
  const viewerRequests = inputs.requestsPerDay * daysPerMonth;
  const chats = inputs.chatsPerDay * daysPerMonth;
  const originRequests = viewerRequests * (1 - inputs.cachedShare);
  const apiRequests = originRequests * inputs.apiShare + chats;
  const webRequests = originRequests * (1 - inputs.apiShare);
  const transferGb = ((viewerRequests + chats) * inputs.avgResponseKb) / KB_PER_GB;
  const apiGb = inputs.apiMemoryMb / MIB_PER_GB;
  const webGb = inputs.webMemoryMb / MIB_PER_GB;
  const gbSecond = prices.lambda.gbSecondX86.usd;
  const perRequest = prices.lambda.requestPerMillion.usd / 1e6;
  const notes: string[] = [];

  // --- Lambda design ---
  const lambdaLines: CostLine[] = [];
  const totalViewerRequests = viewerRequests + chats;
  const cf = prices.cloudfront;
  if (inputs.cloudfrontPlan === 'payg') {
    const billableRequests = Math.max(0, totalViewerRequests - cf.freeRequestsPerMonth.usd);
    const billableGb = Math.max(0, transferGb - cf.freeTransferGbPerMonth.usd);
    lambdaLines.push({
      item: 'CloudFront (pay-as-you-go)',
      usd: (billableRequests / 10_000) * cf.httpsPer10kRequests.usd + billableGb * cf.transferPerGb.usd,
      detail: `${count(totalViewerRequests)} requests, ${transferGb.toFixed(1)} GB; free tier 10 M requests + 1 TB`,
    });
  } else {
    const fitsFree = totalViewerRequests <= cf.flatFreePlanRequests.usd && transferGb <= cf.flatFreePlanTransferGb.usd;
    const plan = inputs.cloudfrontPlan === 'free' && fitsFree ? 'Free' : 'Pro';
    if (inputs.cloudfrontPlan === 'free' && !fitsFree) {
      notes.push('Traffic exceeds the CloudFront flat-rate Free plan (1 M requests, 100 GB): priced as Pro.');
    }
    if (plan === 'Pro' && totalViewerRequests > cf.flatProPlanRequests.usd) {
      notes.push(
        'Traffic exceeds the flat-rate Pro plan allowance (10 M requests): look at Business or pay-as-you-go.',
      );
    }
    lambdaLines.push({
      item: `CloudFront (flat-rate ${plan} plan)`,
      usd: plan === 'Free' ? cf.flatFreePlanMonth.usd : cf.flatProPlanMonth.usd,
      detail: `${count(totalViewerRequests)} requests, ${transferGb.toFixed(1)} GB; WAF included`,
    });
  }
  lambdaLines.push(
    inputs.cloudfrontPlan === 'payg'
      ? {
          item: 'WAF web ACL',
          usd:
            prices.waf.webAclMonth.usd +
            inputs.wafRules * prices.waf.ruleMonth.usd +
            (totalViewerRequests / 1e6) * prices.waf.requestPerMillion.usd,
          detail: `1 ACL + ${inputs.wafRules} rules + ${count(totalViewerRequests)} requests`,
        }
      : { item: 'WAF web ACL', usd: 0, detail: 'bundled with the CloudFront flat-rate plan' },
  );
  const apiComputeSeconds = originRequests * inputs.apiShare * (inputs.apiAvgMs / 1000) + chats * inputs.chatSeconds;
  lambdaLines.push({
    item: 'Lambda api (requests + GB-s)',
    usd: apiRequests * perRequest + apiComputeSeconds * apiGb * gbSecond,
    detail: `${count(apiRequests)} requests (${count(chats)} streamed chats × ${inputs.chatSeconds} s), ${inputs.apiMemoryMb} MB, ${count(apiComputeSeconds * apiGb)} GB-s`,
  });
  lambdaLines.push({
    item: 'Lambda web (requests + GB-s)',
    usd: webRequests * perRequest + webRequests * (inputs.webAvgMs / 1000) * webGb * gbSecond,
    detail: `${count(webRequests)} requests × ${inputs.webAvgMs} ms, ${inputs.webMemoryMb} MB`,
  });
  const coldStarts = inputs.coldStartsPerDay * daysPerMonth;
  if (inputs.snapStart) {
    // Lambda pricing, SnapStart: a cache charge for every active version's snapshot (the live alias keeps one in
    // use) and a restore charge per GB per restore; the restore time itself is billed as duration.
    lambdaLines.push({
      item: 'Lambda api SnapStart cache',
      usd: apiGb * hours * 3600 * prices.lambda.snapStartCacheGbSecond.usd,
      detail: `1 cached version × ${inputs.apiMemoryMb} MB × ${hours} h`,
    });
    lambdaLines.push({
      item: 'Lambda api SnapStart restores',
      usd:
        coldStarts * apiGb * prices.lambda.snapStartRestoreGb.usd +
        coldStarts * inputs.snapStartRestoreSeconds * apiGb * gbSecond,
      detail: `${count(coldStarts)} restores × ${inputs.apiMemoryMb} MB + ${inputs.snapStartRestoreSeconds} s billed restore`,
    });
  } else {
    lambdaLines.push({
      item: 'Lambda api cold-start INIT',
      usd: coldStarts * inputs.coldStartInitSeconds * apiGb * gbSecond,
      detail: `${count(coldStarts)} cold starts × ${inputs.coldStartInitSeconds} s billed init`,
    });
  }
  if (inputs.keepWarm) {
    // EventBridge Scheduler's 14 M free invocations a month cover the pings themselves.
    const pings = (60 / inputs.keepWarmIntervalMinutes) * inputs.activeHours * inputs.workingDays;
    lambdaLines.push({
      item: 'keep-warm pings (api)',
      usd: pings * perRequest + pings * 0.1 * apiGb * gbSecond,
      detail: `${count(pings)} pings (every ${inputs.keepWarmIntervalMinutes} min for ${inputs.activeHours} h × ${inputs.workingDays} days) × 100 ms`,
    });
  }
  if (inputs.provisionedConcurrency > 0) {
    lambdaLines.push({
      item: 'Lambda api provisioned concurrency',
      usd: inputs.provisionedConcurrency * apiGb * hours * 3600 * prices.lambda.provisionedGbSecond.usd,
      detail: `${inputs.provisionedConcurrency} × ${inputs.apiMemoryMb} MB × ${hours} h`,
    });
  }
  const edgeRequests = originRequests + chats;
  lambdaLines.push({
    item: 'Lambda@Edge payload signer',
    usd:
      (edgeRequests / 1e6) * prices.lambdaEdge.requestPerMillion.usd +
      edgeRequests * (inputs.edgeAvgMs / 1000) * (inputs.edgeMemoryMb / MIB_PER_GB) * prices.lambdaEdge.gbSecond.usd,
    detail: `${count(edgeRequests)} origin requests × ${inputs.edgeAvgMs} ms, ${inputs.edgeMemoryMb} MB`,
  });
  for (const task of inputs.lambdaBackendTasks) lambdaLines.push(fargateLine(task, prices));
  lambdaLines.push(...dataLayerLines(inputs, prices, inputs.lambdaSecrets, 0));

  // --- ALB design ---
  const albLines: CostLine[] = [];
  const secondsPerMonth = hours * 3600;
  // ALB bills the highest of four LCU dimensions each hour; averaged over the month at low traffic.
  const newConnectionsPerSecond = totalViewerRequests / secondsPerMonth;
  const processedGbPerHour = transferGb / hours;
  const activeConnections = (originRequests * (inputs.apiAvgMs / 1000) + chats * inputs.chatSeconds) / secondsPerMonth;
  const lcu = Math.max(newConnectionsPerSecond / 25, processedGbPerHour / 1, activeConnections / 3000);
  albLines.push({
    item: 'Application Load Balancer',
    usd: hours * (prices.alb.hour.usd + lcu * prices.alb.lcuHour.usd),
    detail: `${hours} h × $${prices.alb.hour.usd} + ${lcu.toFixed(4)} LCU average`,
  });
  for (const task of inputs.albTasks) albLines.push(fargateLine(task, prices));
  const internetGb = Math.max(0, transferGb - prices.internetTransfer.freeGbPerMonth.usd);
  albLines.push({
    item: 'data transfer out',
    usd: internetGb * prices.internetTransfer.perGb.usd,
    detail: `${transferGb.toFixed(1)} GB, first 100 GB free`,
  });
  albLines.push(...dataLayerLines(inputs, prices, inputs.albSecrets, inputs.albPublicIpv4));

  if (inputs.auroraAcu === 0) {
    notes.push(
      'Aurora at 0 ACU all month follows the published low-cost figure. Aurora only pauses while no client holds a ' +
        'connection (Dify worker, beat and plugin daemon keep some open); --aurora-acu 0.5 prices the active hours.',
    );
  }
  if (inputs.albPublicIpv4 === 0) {
    notes.push(
      "The ALB design omits the ALB's own public IPv4 addresses (one per AZ, $3.65 each) like the published figure; add them with --alb-public-ipv4 2.",
    );
  }
  notes.push("Lambda's always-free tier (1 M requests, 400,000 GB-s a month per account) is not deducted.");

  const design = (name: DesignName, title: string, lines: CostLine[]): DesignCost => {
    const rounded = lines.map((line) => ({ ...line, usd: money(line.usd) }));
    return { design: name, title, lines: rounded, total: money(lines.reduce((sum, line) => sum + line.usd, 0)) };
  };
  return {
    inputs,
    pricesReviewedOn: prices.reviewedOn,
    designs: [
      design('lambda', 'Lambda design (CloudFront + WAF + Lambda function URLs, backend on Fargate Spot)', lambdaLines),
      design('alb', 'ALB design (ALB + Fargate Spot)', albLines),
    ],
    notes,
  };
}
