import { parseArgs } from 'node:util';
import { BackendSleepMode, UploadsMode } from '../../lib/config';
import {
  CloudFrontPlan,
  CostEstimate,
  CostInputError,
  CostInputs,
  DesignName,
  EfsStorageClass,
  estimateCosts,
  NatKind,
  PROFILES,
  ProfileName,
} from './model';
import { PUBLISHED_ALB_LOW_COST } from './prices';

export const COST_USAGE = `usage: npm run cost -- [options]
  --profile low|team          sizes and usage preset (default low = the ALB design's published cheap setup)
  --region R                  price table: ap-northeast-1 (default, the project's region) or us-east-1
  --requests-per-day N        viewer requests per day
  --chats-per-day N           streamed chat answers per day      --chat-seconds S   length of one
  --active-hours H            hours per working day in use        --working-days D   per month (default 22)
  --sleep off|idle|working-hours    backend.sleep.mode (default idle): when the Lambda design's backend task and
                              Aurora are awake; off = 730 h
  --idle-minutes N            backend.sleep.idleMinutes (default 30, at least 20)
  --working-hours H           length of backend.sleep.workingHours (default 9, 09:00-18:00)
  --wakes-per-day N           separate bursts of use per working day, each ending in an idle timeout (default 1)
  --aurora-acu N              ACU while Aurora is awake (default 0.5, the floor of an awake instance)
  --aurora-min-acu N          database.minAcu (default 0; above 0 Aurora never pauses)
  --auto-pause-seconds N      database.autoPauseSeconds (default 300)   --aurora-storage-gb N
  --uploads relay|full        uploads.mode (full adds an internal ALB)  --uploads-per-day N  through the relay
  --efs-gb N                  plugin daemon working path on EFS (default 2)   --efs-class standard|one-zone
  --cloudfront-plan payg|free|pro   flat-rate plans bundle WAF ($0 WAF line); payg charges WAF
  --waf-rules N               rules in the web ACL (payg only)
  --api-memory MB             api function memory                 --provisioned N    provisioned environments
  --keep-warm | --no-keep-warm      keep-warm pings during active hours
  --snap-start                      api.snapStart: cold starts are SnapStart restores (cache + restore prices)
  --valkey-node TYPE          e.g. cache.t4g.micro                --nat instance|gateway
  --alb-public-ipv4 N         count the ALB's own public IPv4 addresses
  --design lambda|alb|published|both|all   which designs to print (default both: lambda and alb, with the
                              published ALB figure as a one-line check; published = the ALB design with Aurora
                              paused all month, as its README prices it)
  --json                      machine-readable output (every design, awake hours, inputs)
`;

const OPTIONS = {
  profile: { type: 'string' },
  'requests-per-day': { type: 'string' },
  'chats-per-day': { type: 'string' },
  'chat-seconds': { type: 'string' },
  'active-hours': { type: 'string' },
  'working-days': { type: 'string' },
  sleep: { type: 'string' },
  'idle-minutes': { type: 'string' },
  'working-hours': { type: 'string' },
  'wakes-per-day': { type: 'string' },
  region: { type: 'string' },
  'cloudfront-plan': { type: 'string' },
  'waf-rules': { type: 'string' },
  'api-memory': { type: 'string' },
  provisioned: { type: 'string' },
  'keep-warm': { type: 'boolean' },
  'snap-start': { type: 'boolean' },
  'no-keep-warm': { type: 'boolean' },
  'aurora-acu': { type: 'string' },
  'aurora-min-acu': { type: 'string' },
  'auto-pause-seconds': { type: 'string' },
  'aurora-storage-gb': { type: 'string' },
  uploads: { type: 'string' },
  'uploads-per-day': { type: 'string' },
  'efs-gb': { type: 'string' },
  'efs-class': { type: 'string' },
  'valkey-node': { type: 'string' },
  nat: { type: 'string' },
  'alb-public-ipv4': { type: 'string' },
  design: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `--design` selects. */
export type DesignChoice = 'lambda' | 'alb' | 'published' | 'both' | 'all';

function choice<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CostInputError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) {
    throw new CostInputError(`--${name} must be a number ≥ 0, got '${value}'`);
  }
  return parsed;
}

/** Command-line options on top of the chosen profile. */
export function costInputsFromArgs(argv: string[]): {
  inputs: CostInputs;
  json: boolean;
  design: DesignChoice;
  help: boolean;
} {
  let values: Record<string, string | boolean | undefined>;
  try {
    // parseArgs' value type unions the declared option types; all of ours are string or boolean.
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (error) {
    throw new CostInputError(error instanceof Error ? error.message : String(error));
  }
  const text = (name: string): string | undefined =>
    typeof values[name] === 'string' ? String(values[name]) : undefined;
  const profile = choice<ProfileName>('profile', text('profile'), ['low', 'team'], 'low');
  const base = PROFILES[profile];
  if (values['keep-warm'] && values['no-keep-warm'])
    throw new CostInputError('--keep-warm and --no-keep-warm conflict');
  const inputs: CostInputs = {
    ...base,
    region: text('region') ?? base.region,
    requestsPerDay: numberOption('requests-per-day', text('requests-per-day'), base.requestsPerDay),
    chatsPerDay: numberOption('chats-per-day', text('chats-per-day'), base.chatsPerDay),
    chatSeconds: numberOption('chat-seconds', text('chat-seconds'), base.chatSeconds),
    activeHours: numberOption('active-hours', text('active-hours'), base.activeHours),
    workingDays: numberOption('working-days', text('working-days'), base.workingDays),
    sleepMode: choice<BackendSleepMode>('sleep', text('sleep'), ['off', 'idle', 'working-hours'], base.sleepMode),
    idleMinutes: numberOption('idle-minutes', text('idle-minutes'), base.idleMinutes),
    workingHoursPerDay: numberOption('working-hours', text('working-hours'), base.workingHoursPerDay),
    wakesPerDay: numberOption('wakes-per-day', text('wakes-per-day'), base.wakesPerDay),
    cloudfrontPlan: choice<CloudFrontPlan>(
      'cloudfront-plan',
      text('cloudfront-plan'),
      ['payg', 'free', 'pro'],
      base.cloudfrontPlan,
    ),
    wafRules: numberOption('waf-rules', text('waf-rules'), base.wafRules),
    apiMemoryMb: numberOption('api-memory', text('api-memory'), base.apiMemoryMb),
    provisionedConcurrency: numberOption('provisioned', text('provisioned'), base.provisionedConcurrency),
    keepWarm: values['keep-warm'] ? true : values['no-keep-warm'] ? false : base.keepWarm,
    snapStart: values['snap-start'] === true ? true : base.snapStart,
    auroraAcu: numberOption('aurora-acu', text('aurora-acu'), base.auroraAcu),
    auroraMinAcu: numberOption('aurora-min-acu', text('aurora-min-acu'), base.auroraMinAcu),
    auroraAutoPauseSeconds: numberOption('auto-pause-seconds', text('auto-pause-seconds'), base.auroraAutoPauseSeconds),
    auroraStorageGb: numberOption('aurora-storage-gb', text('aurora-storage-gb'), base.auroraStorageGb),
    uploadsMode: choice<UploadsMode>('uploads', text('uploads'), ['relay', 'full'], base.uploadsMode),
    uploadsPerDay: numberOption('uploads-per-day', text('uploads-per-day'), base.uploadsPerDay),
    efsGb: numberOption('efs-gb', text('efs-gb'), base.efsGb),
    efsStorageClass: choice<EfsStorageClass>(
      'efs-class',
      text('efs-class'),
      ['standard', 'one-zone'],
      base.efsStorageClass,
    ),
    valkeyNodeType: text('valkey-node') ?? base.valkeyNodeType,
    nat: choice<NatKind>('nat', text('nat'), ['instance', 'gateway'], base.nat),
    albPublicIpv4: numberOption('alb-public-ipv4', text('alb-public-ipv4'), base.albPublicIpv4),
  };
  const design = choice<DesignChoice>('design', text('design'), ['lambda', 'alb', 'published', 'both', 'all'], 'both');
  return { inputs, json: values.json === true, design, help: values.help === true };
}

const SHOWN: Readonly<Record<DesignChoice, readonly DesignName[]>> = {
  lambda: ['lambda'],
  alb: ['alb'],
  published: ['alb-published'],
  both: ['lambda', 'alb'],
  all: ['lambda', 'alb', 'alb-published'],
};

function usd(value: number): string {
  return `$${value.toFixed(2)}`;
}

function hours(value: number): string {
  return `${(Math.round(value * 10) / 10).toLocaleString('en-US')} h`;
}

export function formatEstimate(estimate: CostEstimate, design: DesignChoice): string {
  const { inputs, awake } = estimate;
  const out: string[] = [];
  out.push(
    `Monthly cost estimate — ${inputs.region}, profile ${inputs.profile}, prices reviewed ${estimate.pricesReviewedOn} (bench/cost/prices.ts)`,
  );
  out.push(
    `Usage: ${inputs.requestsPerDay.toLocaleString('en-US')} requests/day (${Math.round(inputs.cachedShare * 100)}% from the CloudFront cache), ` +
      `${inputs.chatsPerDay} chats/day × ${inputs.chatSeconds} s, in use ${inputs.activeHours} h × ${inputs.workingDays} days`,
  );
  const wanted = SHOWN[design];
  if (wanted.includes('lambda')) {
    out.push(
      `Awake (Lambda design): backend task ${hours(awake.backend)} — ${awake.backendExplanation}`,
      `                       Aurora ${hours(awake.aurora)} — ${awake.auroraExplanation}`,
    );
  }
  if (wanted.includes('alb')) {
    out.push(
      'Awake (ALB design): api/worker task and Aurora all month (the task never stops, beat polls every minute)',
    );
  }
  const shown = estimate.designs.filter((entry) => wanted.includes(entry.design));
  for (const entry of shown) {
    out.push('', entry.title);
    for (const line of entry.lines) {
      out.push(`  ${line.item.padEnd(76)} ${usd(line.usd).padStart(9)}   ${line.detail}`);
    }
    out.push(`  ${'TOTAL'.padEnd(76)} ${usd(entry.total).padStart(9)}`);
  }
  const lambda = shown.find((entry) => entry.design === 'lambda');
  const alb = shown.find((entry) => entry.design === 'alb');
  if (lambda && alb) {
    const difference = alb.total - lambda.total;
    out.push(
      '',
      difference >= 0
        ? `The Lambda design costs ${usd(difference)} less per month (${Math.round((difference / alb.total) * 100)}% below the ALB design).`
        : `The Lambda design costs ${usd(-difference)} more per month.`,
    );
  }
  const published = estimate.designs.find((entry) => entry.design === 'alb-published');
  if (published && !wanted.includes('alb-published')) {
    out.push(
      `Check — ALB design as published (Aurora paused all month): ${usd(published.total)} here; ` +
        `published ${usd(PUBLISHED_ALB_LOW_COST.total.usd)} for the low profile (${PUBLISHED_ALB_LOW_COST.total.source}). ` +
        '`--design published` lists its lines.',
    );
  }
  if (estimate.notes.length) out.push('', 'Notes:', ...estimate.notes.map((note) => `  - ${note}`));
  return `${out.join('\n')}\n`;
}

/** Returns the exit code: 0 printed, 2 bad arguments. */
export function main(
  argv: string[],
  write: (text: string) => void = (text) => process.stdout.write(text),
  writeError: (text: string) => void = (text) => process.stderr.write(text),
): number {
  try {
    const { inputs, json, design, help } = costInputsFromArgs(argv);
    if (help) {
      write(COST_USAGE);
      return 0;
    }
    const estimate = estimateCosts(inputs);
    if (json) {
      write(`${JSON.stringify(estimate, null, 2)}\n`);
    } else {
      write(formatEstimate(estimate, design));
    }
    return 0;
  } catch (error) {
    if (error instanceof CostInputError) {
      writeError(`error: ${error.message}\n${COST_USAGE}`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
