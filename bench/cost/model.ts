import { BackendSleepMode, DEFAULT_CONFIG, UploadsMode } from '../../lib/config';
import { PRICES, RegionPrices } from './prices';

export type CloudFrontPlan = 'payg' | 'free' | 'pro';
export type NatKind = 'instance' | 'gateway';
export type ProfileName = 'low' | 'team';
/** `alb-published` is the ALB design as its README prices it (Aurora paused all month): a check, not an estimate. */
export type DesignName = 'lambda' | 'alb' | 'alb-published';
export type EfsStorageClass = 'standard' | 'one-zone';

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
  /** Hours per working day the team uses Dify (keep-warm pings run then; the backend is awake then). */
  readonly activeHours: number;
  readonly workingDays: number;
  /** lib/config.ts backend.sleep.mode (Lambda design only; the ALB design's api/worker task always runs). */
  readonly sleepMode: BackendSleepMode;
  /** lib/config.ts backend.sleep.idleMinutes: minutes without a real api request before the backend may sleep. */
  readonly idleMinutes: number;
  /** Length of backend.sleep.workingHours (start to end) in hours; `working-hours` mode keeps the backend up then. */
  readonly workingHoursPerDay: number;
  /** Separate bursts of use per working day; each one wakes the backend and ends with an idle timeout. */
  readonly wakesPerDay: number;
  /** The sleep controller's schedule, rate(N minutes): on average it scales down half a period after the timeout. */
  readonly sleepControllerMinutes: number;
  readonly sleepControllerMemoryMb: number;
  readonly sleepControllerAvgMs: number;
  /** Minutes a wake bills before the task serves: Fargate bills from the start of the image pull (Fargate pricing). */
  readonly backendStartMinutes: number;
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
  /** Uploads per day through the upload relay (LLRT on Lambda, arm64): one invocation each. */
  readonly uploadsPerDay: number;
  readonly relayMemoryMb: number;
  /** Billed duration of one relayed upload (a 4.5 MB body is decoded, hashed and forwarded). */
  readonly relayAvgMs: number;
  /** lib/config.ts uploads.mode: `full` adds an internal ALB behind a CloudFront VPC origin. */
  readonly uploadsMode: UploadsMode;
  /** Average upload size, MB (only the internal ALB's processed-bytes LCU uses it). */
  readonly uploadAvgMb: number;
  /** The plugin daemon's working path on EFS (Lambda design's backend task), GB stored. */
  readonly efsGb: number;
  readonly efsStorageClass: EfsStorageClass;
  /** ACU while the database is awake. With minAcu 0 an awake Serverless v2 instance idles at 0.5 ACU. */
  readonly auroraAcu: number;
  /** lib/config.ts database.minAcu: above 0 the cluster never pauses. */
  readonly auroraMinAcu: number;
  /** lib/config.ts database.autoPauseSeconds: Aurora pauses this long after the last connection closes. */
  readonly auroraAutoPauseSeconds: number;
  /** Seconds a resume from 0 ACU takes ("up to 15 seconds", Aurora UG, scaling to zero ACUs); billed as awake. */
  readonly auroraResumeSeconds: number;
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

function hoursBetween(start: string, end: string): number {
  const minutes = (time: string) => {
    const [h, m] = time.split(':').map(Number);
    return h * 60 + m;
  };
  return (minutes(end) - minutes(start)) / 60;
}

const CONFIG = DEFAULT_CONFIG;

const SHARED_DEFAULTS = {
  region: CONFIG.region,
  cachedShare: 0.4,
  apiShare: 0.7,
  avgResponseKb: 30,
  workingDays: 22,
  sleepMode: CONFIG.backend.sleep.mode,
  idleMinutes: CONFIG.backend.sleep.idleMinutes,
  workingHoursPerDay: hoursBetween(CONFIG.backend.sleep.workingHours.start, CONFIG.backend.sleep.workingHours.end),
  wakesPerDay: 1,
  sleepControllerMinutes: 5,
  sleepControllerMemoryMb: 128,
  sleepControllerAvgMs: 300,
  // Unmeasured estimate: pulling Dify's images and starting the containers before the plugin daemon listens.
  backendStartMinutes: 2,
  cloudfrontPlan: 'payg' as CloudFrontPlan,
  // The design's default web ACL fits the flat-rate Free plan's limit of 5 rules.
  wafRules: 5,
  apiMemoryMb: CONFIG.api.memoryMb,
  apiAvgMs: 300,
  webMemoryMb: CONFIG.web.memoryMb,
  webAvgMs: 100,
  keepWarmIntervalMinutes: 5,
  provisionedConcurrency: CONFIG.api.provisionedConcurrency,
  coldStartInitSeconds: 25,
  snapStart: CONFIG.api.snapStart,
  // Unmeasured estimate: replace with the 'lambda restore' median of `npm run bench -- cold-start`.
  snapStartRestoreSeconds: 1,
  edgeMemoryMb: 128,
  edgeAvgMs: 10,
  // lib/constructs/upload-relay.ts: 1024 MB (CPU for decoding and hashing a 4.5 MB body), arm64 (lib/llrt-function.ts).
  relayMemoryMb: 1024,
  relayAvgMs: 1000,
  uploadsMode: CONFIG.uploads.mode,
  uploadAvgMb: 2,
  efsGb: 2,
  efsStorageClass: 'standard' as EfsStorageClass,
  // With minAcu 0 an awake instance sits at its lowest non-zero capacity, 0.5 ACU, when idle.
  auroraAcu: 0.5,
  auroraMinAcu: CONFIG.database.minAcu,
  auroraAutoPauseSeconds: CONFIG.database.autoPauseSeconds,
  auroraResumeSeconds: 15,
  valkeyNodeType: CONFIG.redisNodeType,
  nat: CONFIG.nat as NatKind,
  natInstanceType: 't4g.nano',
  // One backend task holds the workers, beat, plugin daemon, internal api and sandbox (lib/config.ts backend).
  lambdaBackendTasks: [
    {
      name: 'backend (workers, beat, plugin daemon, internal api, sandbox)',
      vcpu: CONFIG.backend.cpu / 1024,
      memoryGb: CONFIG.backend.memoryMiB / 1024,
      spot: true,
    },
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
    uploadsPerDay: 5,
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
    uploadsPerDay: 50,
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

/** Hours a month the parts that can sleep are awake, and why. */
export interface AwakeHours {
  /** The Lambda design's backend task (Fargate bills these hours). */
  readonly backend: number;
  /** Aurora in the Lambda design (billed at `auroraAcu` while awake, 0 ACU while paused). */
  readonly aurora: number;
  /** Times a month the backend goes to sleep (and Aurora pauses after it). */
  readonly sleeps: number;
  readonly backendExplanation: string;
  readonly auroraExplanation: string;
}

export interface CostEstimate {
  readonly inputs: CostInputs;
  readonly pricesReviewedOn: string;
  readonly awake: AwakeHours;
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

function hoursText(value: number): string {
  return `${Math.round(value * 10) / 10} h`;
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

/**
 * Awake hours of the Lambda design's backend task and of Aurora.
 *
 * - `off`: the task runs all month, and so does Aurora: Dify's beat polls the database every minute, so the cluster
 *   never goes the `autoPauseSeconds` without a connection that pausing needs (Aurora UG, "Scaling to Zero ACUs with
 *   automatic pause and resume").
 * - `idle`: each burst of use wakes the task and ends `idleMinutes` after the last real request, at the sleep
 *   controller's next run (half a period later on average); a wake bills `backendStartMinutes` before it serves.
 * - `working-hours`: as `idle`, but the task runs through the working-hours window, and a request near its end keeps
 *   it up for the idle timeout after it.
 * Aurora is awake while the task runs, plus `autoPauseSeconds` after each sleep and a resume on each wake; a minimum
 * capacity above 0 never pauses.
 */
export function awakeHours(inputs: CostInputs, hoursPerMonth: number): AwakeHours {
  const cap = (value: number) => Math.min(hoursPerMonth, value);
  let backend: number;
  let sleeps: number;
  let backendExplanation: string;
  if (inputs.sleepMode === 'off') {
    backend = hoursPerMonth;
    sleeps = 0;
    backendExplanation = `sleep off: runs all month (${hoursPerMonth} h)`;
  } else {
    const tailHours = (inputs.idleMinutes + inputs.sleepControllerMinutes / 2) / 60;
    const startHours = inputs.backendStartMinutes / 60;
    const used = inputs.activeHours > 0 ? inputs.wakesPerDay : 0;
    const idlePerDay = inputs.activeHours + used * (tailHours + startHours);
    const perDay = Math.min(
      24,
      inputs.sleepMode === 'idle' ? idlePerDay : Math.max(inputs.workingHoursPerDay + tailHours, idlePerDay),
    );
    backend = cap(inputs.workingDays * perDay);
    sleeps = backend > 0 && perDay < 24 ? inputs.workingDays * Math.max(1, used) : 0;
    const tail = `${inputs.idleMinutes} min idle timeout + ${inputs.sleepControllerMinutes / 2} min to the controller's next run`;
    backendExplanation =
      inputs.sleepMode === 'idle'
        ? `sleep idle: ${inputs.workingDays} days × (${inputs.activeHours} h in use + ${used} wake(s) × (${tail} + ${inputs.backendStartMinutes} min start)) = ${hoursText(backend)}`
        : `sleep working-hours: ${inputs.workingDays} days × max(${inputs.workingHoursPerDay} h window + ${tail}, ${hoursText(idlePerDay)} of use) = ${hoursText(backend)}`;
  }
  let aurora: number;
  let auroraExplanation: string;
  if (inputs.auroraMinAcu > 0) {
    aurora = hoursPerMonth;
    auroraExplanation = `minimum ${inputs.auroraMinAcu} ACU: never pauses (${hoursPerMonth} h)`;
  } else if (inputs.sleepMode === 'off') {
    aurora = hoursPerMonth;
    auroraExplanation = `the backend always runs and beat polls every minute: never pauses (${hoursPerMonth} h)`;
  } else {
    const perSleep = (inputs.auroraAutoPauseSeconds + inputs.auroraResumeSeconds) / 3600;
    aurora = cap(backend + sleeps * perSleep);
    auroraExplanation =
      `backend awake ${hoursText(backend)} + ${count(sleeps)} sleeps × (${inputs.auroraAutoPauseSeconds} s auto-pause delay + ` +
      `${inputs.auroraResumeSeconds} s resume) = ${hoursText(aurora)}; paused otherwise`;
  }
  return { backend, aurora, sleeps, backendExplanation, auroraExplanation };
}

function fargateLine(task: FargateTask, prices: RegionPrices, hours: number): CostLine {
  const hourly = task.vcpu * prices.fargate.vcpuHour.usd + task.memoryGb * prices.fargate.gbHour.usd;
  const factor = task.spot ? 1 - prices.fargate.spotDiscount.usd : 1;
  return {
    item: `Fargate${task.spot ? ' Spot' : ''}: ${task.name}`,
    usd: hourly * hours * factor,
    detail: `${task.vcpu} vCPU, ${task.memoryGb} GB × ${hoursText(hours)}${task.spot ? ` at ${Math.round(prices.fargate.spotDiscount.usd * 100)}% off` : ''}`,
  };
}

interface AuroraLine {
  readonly item: string;
  readonly hours: number;
  readonly detail: string;
}

/** Lines both designs share: database, cache, NAT, addresses, secrets, logs. */
function dataLayerLines(
  inputs: CostInputs,
  prices: RegionPrices,
  aurora: AuroraLine,
  secrets: number,
  extraIpv4: number,
): CostLine[] {
  const valkey = prices.valkeyNodeHour[inputs.valkeyNodeType];
  const natInstance = prices.ec2Hour[inputs.natInstanceType];
  const natHourly = inputs.nat === 'gateway' ? prices.natGatewayHour.usd : natInstance.usd;
  const addresses = inputs.publicIpv4 + extraIpv4;
  const acu = aurora.hours > 0 ? Math.max(inputs.auroraAcu, inputs.auroraMinAcu) : 0;
  return [
    {
      item: aurora.item,
      usd: acu * aurora.hours * prices.aurora.acuHour.usd,
      detail: aurora.hours > 0 ? `${acu} ACU × ${hoursText(aurora.hours)} awake: ${aurora.detail}` : aurora.detail,
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

const SLEEP_MODES: readonly BackendSleepMode[] = ['off', 'idle', 'working-hours'];
const UPLOAD_MODES: readonly UploadsMode[] = ['relay', 'full'];
const EFS_CLASSES: readonly EfsStorageClass[] = ['standard', 'one-zone'];

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
    // Same bounds as lib/config.ts backend.sleep.idleMinutes (at least 20) and database.autoPauseSeconds.
    ['idle-minutes', inputs.idleMinutes, 20, 1440],
    ['working-hours', inputs.workingHoursPerDay, 0, 24],
    ['wakes-per-day', inputs.wakesPerDay, 1, 96],
    ['auto-pause-seconds', inputs.auroraAutoPauseSeconds, 300, 86400],
    // An awake Serverless v2 instance has at least 0.5 ACU; 0 only by pausing, which the model derives.
    ['aurora-acu', inputs.auroraAcu, 0.5, 256],
    ['aurora-min-acu', inputs.auroraMinAcu, 0, 256],
    ['aurora-storage-gb', inputs.auroraStorageGb, 0, 1e6],
    ['uploads-per-day', inputs.uploadsPerDay, 0, 1e8],
    ['efs-gb', inputs.efsGb, 0, 1e6],
    ['alb-public-ipv4', inputs.albPublicIpv4, 0, 100],
  ];
  for (const [name, value, min, max] of numbers) {
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new CostInputError(`--${name} must be a number from ${min} to ${max}, got ${value}`);
    }
  }
  const choices: Array<[string, string, readonly string[]]> = [
    ['sleep', inputs.sleepMode, SLEEP_MODES],
    ['uploads', inputs.uploadsMode, UPLOAD_MODES],
    ['efs-class', inputs.efsStorageClass, EFS_CLASSES],
  ];
  for (const [name, value, allowed] of choices) {
    if (!allowed.includes(value)) {
      throw new CostInputError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
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
  const gbSecondArm = prices.lambda.gbSecondArm.usd;
  const perRequest = prices.lambda.requestPerMillion.usd / 1e6;
  const awake = awakeHours(inputs, hours);
  const notes: string[] = [];

  // --- Lambda design ---
  const lambdaLines: CostLine[] = [];
  const totalViewerRequests = viewerRequests + chats;
  const cf = prices.cloudfront;
  // uploads.mode 'full' sends Authorization through a custom cache policy, which makes the distribution ineligible for
  // the flat-rate plans (docs/adr/0019): CloudFront and WAF are then billed pay-as-you-go whatever was asked for.
  const cloudfrontPlan: CloudFrontPlan = inputs.uploadsMode === 'full' ? 'payg' : inputs.cloudfrontPlan;
  if (cloudfrontPlan !== inputs.cloudfrontPlan) {
    notes.push(
      `uploads 'full' makes the distribution ineligible for the CloudFront flat-rate plans (docs/adr/0019): ` +
        `priced pay-as-you-go instead of the ${inputs.cloudfrontPlan} plan.`,
    );
  }
  if (cloudfrontPlan === 'payg') {
    const billableRequests = Math.max(0, totalViewerRequests - cf.freeRequestsPerMonth.usd);
    const billableGb = Math.max(0, transferGb - cf.freeTransferGbPerMonth.usd);
    lambdaLines.push({
      item: 'CloudFront (pay-as-you-go)',
      usd: (billableRequests / 10_000) * cf.httpsPer10kRequests.usd + billableGb * cf.transferPerGb.usd,
      detail: `${count(totalViewerRequests)} requests, ${transferGb.toFixed(1)} GB (${prices.cloudfrontEdgeRegion} edge prices); free tier 10 M requests + 1 TB`,
    });
  } else {
    const fitsFree = totalViewerRequests <= cf.flatFreePlanRequests.usd && transferGb <= cf.flatFreePlanTransferGb.usd;
    const plan = cloudfrontPlan === 'free' && fitsFree ? 'Free' : 'Pro';
    if (cloudfrontPlan === 'free' && !fitsFree) {
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
    cloudfrontPlan === 'payg'
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
  // With uploads.mode 'full' uploads take the internal ALB; the relay still carries plugin endpoints (/e/*).
  const relayed = inputs.uploadsMode === 'relay' ? inputs.uploadsPerDay * inputs.workingDays : 0;
  lambdaLines.push({
    item: 'Lambda upload relay (LLRT, arm64)',
    usd:
      relayed * perRequest + relayed * (inputs.relayAvgMs / 1000) * (inputs.relayMemoryMb / MIB_PER_GB) * gbSecondArm,
    detail:
      inputs.uploadsMode === 'relay'
        ? `${count(relayed)} uploads (${inputs.uploadsPerDay}/day × ${inputs.workingDays} days) × ${inputs.relayAvgMs} ms, ${inputs.relayMemoryMb} MB`
        : 'uploads go through the internal ALB (uploads full); plugin endpoint calls not counted',
  });
  if (inputs.sleepMode !== 'off') {
    const runs = (hours * 60) / inputs.sleepControllerMinutes;
    lambdaLines.push({
      item: 'Lambda sleep controller (arm64) + GetMetricData',
      usd:
        runs * perRequest +
        runs * (inputs.sleepControllerAvgMs / 1000) * (inputs.sleepControllerMemoryMb / MIB_PER_GB) * gbSecondArm +
        (runs / 1000) * prices.cloudwatchMetrics.getMetricDataPer1000Metrics.usd,
      detail: `${count(runs)} runs (rate ${inputs.sleepControllerMinutes} min) × ${inputs.sleepControllerAvgMs} ms, ${inputs.sleepControllerMemoryMb} MB; 1 metric read each`,
    });
  }
  for (const task of inputs.lambdaBackendTasks) lambdaLines.push(fargateLine(task, prices, awake.backend));
  const efsPrice = inputs.efsStorageClass === 'standard' ? prices.efs.standardGbMonth : prices.efs.oneZoneGbMonth;
  lambdaLines.push({
    item: `EFS ${inputs.efsStorageClass === 'standard' ? 'Standard' : 'One Zone'} (plugin daemon working path)`,
    usd: inputs.efsGb * efsPrice.usd,
    detail: `${inputs.efsGb} GB-month, bursting throughput (no throughput charge)`,
  });
  if (inputs.uploadsMode === 'full') {
    // Internal ALB behind a CloudFront VPC origin: ALB-hours all month + the processed-bytes LCU of the uploads.
    const uploadGbPerHour = (inputs.uploadsPerDay * inputs.workingDays * inputs.uploadAvgMb) / 1024 / hours;
    lambdaLines.push({
      item: 'internal ALB (uploads full)',
      usd: hours * (prices.alb.hour.usd + uploadGbPerHour * prices.alb.lcuHour.usd),
      detail: `${hours} h × $${prices.alb.hour.usd} + ${uploadGbPerHour.toFixed(4)} LCU average (${inputs.uploadsPerDay} uploads/day × ${inputs.uploadAvgMb} MB)`,
    });
  }
  lambdaLines.push(
    ...dataLayerLines(
      inputs,
      prices,
      { item: 'Aurora Serverless v2 (ACU)', hours: awake.aurora, detail: awake.auroraExplanation },
      inputs.lambdaSecrets,
      0,
    ),
  );

  // --- ALB design ---
  const secondsPerMonth = hours * 3600;
  // ALB bills the highest of four LCU dimensions each hour; averaged over the month at low traffic.
  const newConnectionsPerSecond = totalViewerRequests / secondsPerMonth;
  const processedGbPerHour = transferGb / hours;
  const activeConnections = (originRequests * (inputs.apiAvgMs / 1000) + chats * inputs.chatSeconds) / secondsPerMonth;
  const lcu = Math.max(newConnectionsPerSecond / 25, processedGbPerHour / 1, activeConnections / 3000);
  const albFront: CostLine[] = [
    {
      item: 'Application Load Balancer',
      usd: hours * (prices.alb.hour.usd + lcu * prices.alb.lcuHour.usd),
      detail: `${hours} h × $${prices.alb.hour.usd} + ${lcu.toFixed(4)} LCU average`,
    },
    ...inputs.albTasks.map((task) => fargateLine(task, prices, hours)),
  ];
  const internetGb = Math.max(0, transferGb - prices.internetTransfer.freeGbPerMonth.usd);
  albFront.push({
    item: 'data transfer out',
    usd: internetGb * prices.internetTransfer.perGb.usd,
    detail: `${transferGb.toFixed(1)} GB, first 100 GB free`,
  });
  const albLines: CostLine[] = [
    ...albFront,
    ...dataLayerLines(
      inputs,
      prices,
      {
        item: 'Aurora Serverless v2 (ACU)',
        hours,
        detail: 'the api/worker task runs all month and beat polls every minute: never pauses',
      },
      inputs.albSecrets,
      inputs.albPublicIpv4,
    ),
  ];
  const publishedLines: CostLine[] = [
    ...albFront,
    ...dataLayerLines(
      inputs,
      prices,
      {
        item: 'Aurora Serverless v2 (ACU), as published: paused all month',
        hours: 0,
        detail: '0 ACU: the published assumption, which its always-running api/worker task does not allow',
      },
      inputs.albSecrets,
      inputs.albPublicIpv4,
    ),
  ];

  if (inputs.sleepMode !== 'off') {
    notes.push(
      'Aurora pauses only after no client has held a connection for the auto-pause delay. The model counts the ' +
        "backend task's connections (beat polls every minute). An api function environment that outlives the " +
        'backend (Lambda keeps a frozen environment for an unspecified time) keeps its pooled connections open until ' +
        'the server ends idle sessions (idle_session_timeout, docs/adr/0018), which can delay the pause further.',
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
    awake,
    designs: [
      design('lambda', 'Lambda design (CloudFront + WAF + Lambda function URLs, backend on Fargate Spot)', lambdaLines),
      design('alb', 'ALB design (ALB + Fargate Spot), Aurora awake all month', albLines),
      design('alb-published', 'ALB design as published (Aurora paused all month)', publishedLines),
    ],
    notes,
  };
}
