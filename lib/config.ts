import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** How Dify's api and web containers are hosted behind CloudFront. */
export type Hosting = 'lambda' | 'alb';
/** How private subnets reach the internet (LLM providers, plugin marketplace, Secrets Manager). */
export type NatChoice = 'instance' | 'gateway';

export interface DatabaseConfig {
  /**
   * Aurora Serverless v2 minimum capacity. 0 lets the cluster auto-pause while no client holds a connection.
   * @default 0
   */
  readonly minAcu: number;
  /**
   * Aurora Serverless v2 maximum capacity (0.5 steps, at most 256).
   * @default 2
   */
  readonly maxAcu: number;
  /**
   * Seconds without any connection before an Aurora cluster with `minAcu: 0` pauses (300..86400). The clock starts
   * only once no client holds a connection (Aurora UG "Scaling to Zero ACUs with automatic pause and resume").
   * @default 300
   */
  readonly autoPauseSeconds: number;
}

export interface ApiFunctionConfig {
  /**
   * Memory of the api function in MB. Lambda allocates CPU in proportion to memory: 3008 MB gives two vCPUs,
   * which shortens the part of Dify's 20-30 s start that runs past the init burst.
   * @default 3008
   */
  readonly memoryMb: number;
  /**
   * Timeout of one api invocation in seconds (also the longest SSE stream). CloudFront waits 60 s between packets.
   * @default 900
   */
  readonly timeoutSeconds: number;
  /**
   * How long CloudFront waits for the api's first byte, and between bytes (its origin "response timeout"). A
   * blocking call (`response_mode: blocking`, or a slow console call) that takes longer ends in a 504 at the edge;
   * streaming calls send pings and are not affected. Up to 60 s works everywhere; 61-180 s needs an approved
   * increase of the CloudFront quota "Response timeout per origin" first (CloudFront DG "Response timeout"), or
   * the deploy fails. Applies to both hosting modes.
   * @default 60
   */
  readonly originReadTimeoutSeconds: number;
  /**
   * Provisioned concurrency for the api alias (0 = none). Removes cold starts for that many concurrent requests, at
   * ≈ $32/month per environment at the default 3008 MB (us-east-1: 2.9375 GB × 730 h × $0.0000041667 per GB-s; see
   * `npm run cost -- --provisioned 1`). Needs the account's Lambda "Concurrent executions" quota to be at least
   * this value + 100 (synth warns; new accounts often start at 10).
   * @default 0
   */
  readonly provisionedConcurrency: number;
  /**
   * Ping the api every 5 minutes during working hours so a warm environment is usually there.
   * @default false
   */
  readonly keepWarm: boolean;
  /**
   * Cron hours (UTC, `start-end`) during which keep-warm pings run.
   * @default '0-10' (09:00-19:00 in Japan)
   */
  readonly keepWarmHoursUtc: string;
  /**
   * Lambda SnapStart for the api image (container-image SnapStart, Lambda DG "Implementing SnapStart hooks for
   * container images"). The snapshot is taken when a version is published, after a complete, synchronous start, so
   * restores skip Dify's 20-30 s boot. Hooks relayed by the Lambda Web Adapter close the database and Redis pools
   * before the snapshot and, after each restore, reseed randomness and re-read the secrets, including the site URL
   * (docs/adr/0017). Opt-in: AWS names no region list for container-image SnapStart, so it is not assumed in yours.
   * Cannot be combined with provisioned concurrency; needs `hosting: 'lambda'`; limits /tmp to 512 MB.
   * @default false
   */
  readonly snapStart: boolean;
}

export interface UploadsConfig {
  /**
   * Generation of the upload relay's origin secret (docs/adr/0016). CloudFormation reads the secret into
   * CloudFront's origin header only when the distribution itself changes (CloudFormation UG "Get a secret or secret
   * value from Secrets Manager": updating a secret does not update the resources that reference it), so after
   * writing a new value into the secret (README, "Rotating the upload relay secret") raise this by one and deploy.
   * @default 1
   */
  readonly relaySecretGeneration: number;
  /**
   * `relay`: uploads go through the upload relay on Lambda, up to what a function URL accepts (Dify's UI refuses
   * larger files). `full`: uploads go through a CloudFront VPC origin and an internal ALB to the backend's internal
   * api, with Dify's own limits (15 MB documents, 50 MB audio, …); adds an ALB (≈ $16-18/month) and makes the
   * distribution ineligible for the CloudFront flat-rate plans (docs/adr/0019: pay-as-you-go CloudFront and WAF).
   * Lambda hosting only.
   * @default 'relay'
   */
  readonly mode: UploadsMode;
}

/** How big an upload may be, and which path carries it (docs/adr/0016). */
export type UploadsMode = 'relay' | 'full';

export interface WebFunctionConfig {
  /**
   * Memory of the web (Next.js) function in MB.
   * @default 1024
   */
  readonly memoryMb: number;
}

/** When the backend task may scale to zero (docs/adr/0018). */
export type BackendSleepMode = 'off' | 'idle' | 'working-hours';

export interface WorkingHoursConfig {
  /**
   * Days the backend is kept running during `start`-`end`: EventBridge cron day-of-week syntax (`MON-FRI`,
   * `MON,WED,FRI`, `SUN-SAT`).
   * @default 'MON-FRI'
   */
  readonly days: string;
  /**
   * Start of working hours, `HH:MM` (24 h) in `timeZone`.
   * @default '09:00'
   */
  readonly start: string;
  /**
   * End of working hours, `HH:MM`, after `start` (no wrap past midnight).
   * @default '18:00'
   */
  readonly end: string;
  /**
   * IANA time zone of `start` and `end`.
   * @default 'Asia/Tokyo'
   */
  readonly timeZone: string;
}

export interface BackendSleepConfig {
  /**
   * `off`: the backend task always runs. `idle`: it scales to zero after `idleMinutes` without real use and no work
   * in flight, and the next api request wakes it. `working-hours`: as `idle`, but kept running during `workingHours`.
   * Lambda hosting only (in `alb` hosting the api itself runs on ECS all the time; the default there is `off`).
   * @default 'idle'
   */
  readonly mode: BackendSleepMode;
  /**
   * Minutes without a real api request (keep-warm pings do not count) before the backend may sleep. At least 20 and
   * longer than `api.timeoutSeconds`, so a stream that is still open always started inside the window.
   * @default 30
   */
  readonly idleMinutes: number;
  /** @default see WorkingHoursConfig */
  readonly workingHours: WorkingHoursConfig;
}

export interface BackendConfig {
  /**
   * Tasks that always run on on-demand Fargate before Spot takes over (0 = everything on Spot).
   * @default 0
   */
  readonly onDemandBase: number;
  /**
   * Relative weight of Fargate Spot in the capacity provider strategy.
   * @default 1
   */
  readonly spotWeight: number;
  /**
   * Relative weight of on-demand Fargate above the base (0 = only Spot above the base).
   * @default 0
   */
  readonly onDemandWeight: number;
  /**
   * Task CPU units for the backend task (worker, beat, plugin daemon, internal api, sandbox share it).
   * @default 1024
   */
  readonly cpu: number;
  /**
   * Task memory in MiB for the backend task. Must be a valid Fargate combination with `cpu`.
   * @default 4096
   */
  readonly memoryMiB: number;
  /**
   * Allow `aws ecs execute-command` into backend containers.
   * @default false
   */
  readonly enableExec: boolean;
  /**
   * Let code run by dify-sandbox open network connections. Dify's compose file routes them through an SSRF proxy;
   * here they would reach the VPC (database, cache, the task's credential endpoint) directly, so it is off unless
   * you need code nodes that call out. HTTP Request nodes are not affected.
   * @default false
   */
  readonly sandboxNetwork: boolean;
  /** @default see BackendSleepConfig */
  readonly sleep: BackendSleepConfig;
}

export interface WafConfig {
  /**
   * IPv4 CIDRs allowed to reach the site. When this or `allowedIpv6Cidrs` is non-empty, everything else is blocked.
   * @default []
   */
  readonly allowedIpv4Cidrs: string[];
  /**
   * IPv6 CIDRs allowed to reach the site.
   * @default []
   */
  readonly allowedIpv6Cidrs: string[];
  /**
   * ISO 3166 alpha-2 country codes allowed (empty = any country). Adds a sixth rule: beyond the flat-rate Free plan.
   * @default []
   */
  readonly allowedCountries: string[];
  /**
   * Requests per 5 minutes from one IP before WAF blocks it (10..2,000,000,000).
   * @default 3000
   */
  readonly rateLimitPer5Minutes: number;
  /**
   * Include the AWS managed IP reputation list.
   * @default true
   */
  readonly ipReputation: boolean;
}

export interface DomainConfig {
  /** The site's host name, e.g. `dify.example.com`. You point its DNS (CNAME/alias) at the distribution. */
  readonly name: string;
  /** ARN of an ACM certificate in us-east-1 covering `name` (CloudFront only uses us-east-1 certificates). */
  readonly certificateArn: string;
}

/** Lets Dify retrieve from Amazon Bedrock Knowledge Bases through its External Knowledge API (docs/adr/0012). */
export interface BedrockKnowledgeBasesConfig {
  /**
   * Ids of the knowledge bases Dify may query (10 letters or digits each, as the Bedrock console shows them). The
   * function's role may call `bedrock:Retrieve` on these and nothing else. At least one.
   */
  readonly knowledgeBaseIds: string[];
  /**
   * Region the knowledge bases live in.
   * @default the regional stack's `region`
   */
  readonly region?: string;
}

/** The whole configuration of one deployment. Read from `dify-edge.config.json`, overridable with `-c`. */
export interface DifyEdgeConfig {
  /**
   * Prefix of the stack names.
   * @default 'DifyEdge'
   */
  readonly stackPrefix: string;
  /**
   * AWS account to deploy to. Unset: the CLI's current account at deploy time.
   * @default undefined
   */
  readonly account?: string;
  /**
   * Region of the regional stack (the edge stack is always us-east-1).
   * @default 'ap-northeast-1'
   */
  readonly region: string;
  /**
   * Where Dify's api and web run: Lambda function URLs (`lambda`) or Fargate behind an ALB (`alb`, for comparison).
   * @default 'lambda'
   */
  readonly hosting: Hosting;
  /**
   * Tag of langgenius/dify-api and dify-web; drives api, web, worker, beat and the internal api. Never `latest`.
   * @default '1.13.3'
   */
  readonly difyVersion: string;
  /**
   * Tag of langgenius/dify-plugin-daemon.
   * @default '0.5.3-local'
   */
  readonly pluginDaemonVersion: string;
  /**
   * Tag of langgenius/dify-sandbox.
   * @default '0.2.14'
   */
  readonly sandboxVersion: string;
  /**
   * NAT for private subnets: a t4g.nano instance (≈ $3/month) or a managed NAT gateway (≈ $33/month, HA).
   * @default 'instance'
   */
  readonly nat: NatChoice;
  /**
   * ElastiCache Valkey node type (node-based: Celery cannot use ElastiCache Serverless' cluster mode).
   * @default 'cache.t4g.micro'
   */
  readonly redisNodeType: string;
  /**
   * Keep the database (snapshot), the bucket and the secrets when the stack is deleted.
   * @default true
   */
  readonly retainData: boolean;
  /** Custom domain. @default undefined (the CloudFront domain is used) */
  readonly domain?: DomainConfig;
  /** @default see DatabaseConfig */
  readonly database: DatabaseConfig;
  /** @default see ApiFunctionConfig */
  readonly api: ApiFunctionConfig;
  /** @default see WebFunctionConfig */
  readonly web: WebFunctionConfig;
  /** @default see BackendConfig */
  readonly backend: BackendConfig;
  /** @default see WafConfig */
  readonly waf: WafConfig;
  /** @default see UploadsConfig */
  readonly uploads: UploadsConfig;
  /**
   * Serve Bedrock Knowledge Bases to Dify as an External Knowledge API (absent = off).
   * @default undefined (off)
   */
  readonly bedrockKnowledgeBases?: BedrockKnowledgeBasesConfig;
}

export const DEFAULT_CONFIG: DifyEdgeConfig = {
  stackPrefix: 'DifyEdge',
  region: 'ap-northeast-1',
  hosting: 'lambda',
  difyVersion: '1.13.3',
  pluginDaemonVersion: '0.5.3-local',
  sandboxVersion: '0.2.14',
  nat: 'instance',
  redisNodeType: 'cache.t4g.micro',
  retainData: true,
  database: { minAcu: 0, maxAcu: 2, autoPauseSeconds: 300 },
  api: {
    memoryMb: 3008,
    timeoutSeconds: 900,
    originReadTimeoutSeconds: 60,
    provisionedConcurrency: 0,
    keepWarm: false,
    keepWarmHoursUtc: '0-10',
    snapStart: false,
  },
  web: { memoryMb: 1024 },
  backend: {
    onDemandBase: 0,
    spotWeight: 1,
    onDemandWeight: 0,
    cpu: 1024,
    memoryMiB: 4096,
    enableExec: false,
    sandboxNetwork: false,
    sleep: {
      mode: 'idle',
      idleMinutes: 30,
      workingHours: { days: 'MON-FRI', start: '09:00', end: '18:00', timeZone: 'Asia/Tokyo' },
    },
  },
  waf: {
    allowedIpv4Cidrs: [],
    allowedIpv6Cidrs: [],
    allowedCountries: [],
    rateLimitPer5Minutes: 3000,
    ipReputation: true,
  },
  uploads: { relaySecretGeneration: 1, mode: 'relay' },
};

/** The file users edit, relative to the project root. */
export const CONFIG_FILE = 'dify-edge.config.json';
/** Context key holding overrides (JSON string from `-c`, or an object from tests). */
export const CONFIG_CONTEXT_KEY = 'difyEdge';
/** Context key naming another config file. */
export const CONFIG_FILE_CONTEXT_KEY = 'difyEdgeConfigFile';

/** Thrown for any invalid setting; the message names the setting, the bad value and what is allowed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Overrides win key by key; arrays are replaced, not concatenated (an allow-list is a whole). */
function deepMerge(base: JsonObject, override: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

const REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CERT_ARN_PATTERN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const COUNTRY_PATTERN = /^[A-Z]{2}$/;
const NODE_TYPE_PATTERN = /^cache\.[a-z0-9]+\.[a-z0-9]+$/;
const STACK_PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
const HOURS_PATTERN = /^(\d{1,2})-(\d{1,2})$/;
/** Fargate CPU → allowed memory (MiB). Source: Amazon ECS DG "Task CPU and memory". */
const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
};

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

class Validator {
  private readonly errors: string[] = [];

  fail(setting: string, value: unknown, allowed: string): void {
    this.errors.push(`${setting}: ${show(value)} is not allowed; expected ${allowed}`);
  }

  string(setting: string, value: unknown, pattern: RegExp, allowed: string): value is string {
    if (typeof value !== 'string' || !pattern.test(value)) {
      this.fail(setting, value, allowed);
      return false;
    }
    return true;
  }

  number(setting: string, value: unknown, min: number, max: number, opts: { integer?: boolean; step?: number } = {}) {
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= min &&
      value <= max &&
      (!opts.integer || Number.isInteger(value)) &&
      (opts.step === undefined || Number.isInteger(value / opts.step));
    if (!ok) {
      const kind = opts.integer ? 'an integer' : opts.step ? `a multiple of ${opts.step}` : 'a number';
      this.fail(setting, value, `${kind} from ${min} to ${max}`);
    }
    return ok;
  }

  boolean(setting: string, value: unknown): void {
    if (typeof value !== 'boolean') this.fail(setting, value, 'true or false');
  }

  oneOf(setting: string, value: unknown, allowed: readonly string[]): void {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      this.fail(setting, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
    }
  }

  array(setting: string, value: unknown, each: (item: unknown, itemSetting: string) => void): void {
    if (!Array.isArray(value)) {
      this.fail(setting, value, 'a list (JSON array)');
      return;
    }
    value.forEach((item, i) => each(item, `${setting}[${i}]`));
  }

  imageTag(setting: string, value: unknown): void {
    if (!this.string(setting, value, TAG_PATTERN, 'a pinned image tag such as "1.13.3"')) return;
    if ((value as string).toLowerCase() === 'latest') {
      this.fail(
        setting,
        value,
        'a pinned image tag such as "1.13.3" (`latest` changes under you and breaks migrations)',
      );
    }
  }

  unknownKeys(setting: string, value: JsonObject, known: object): void {
    for (const key of Object.keys(value)) {
      if (!(key in known)) {
        this.errors.push(
          `${setting ? `${setting}.` : ''}${key}: unknown setting; allowed settings here are ${Object.keys(known).join(', ')}`,
        );
      }
    }
  }

  throwIfAny(): void {
    if (this.errors.length > 0) {
      throw new ConfigError(`Invalid Dify edge configuration:\n  - ${this.errors.join('\n  - ')}`);
    }
  }
}

/** WAF IP sets accept any prefix except /0 (AWS WAF DG "IP set"). */
export function isCidr(value: string, family: 4 | 6): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const address = value.slice(0, slash);
  const prefixText = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return false;
  const prefix = Number(prefixText);
  return family === 4
    ? net.isIPv4(address) && prefix >= 1 && prefix <= 32
    : net.isIPv6(address) && prefix >= 1 && prefix <= 128;
}

/** Bedrock's knowledge base id (Amazon Bedrock API Reference, Retrieve: URI parameter knowledgeBaseId). */
const KNOWLEDGE_BASE_ID_PATTERN = /^[0-9a-zA-Z]{10}$/;

function validateBedrockKnowledgeBases(v: Validator, value: unknown): void {
  if (!isObject(value)) {
    v.fail('bedrockKnowledgeBases', value, 'an object {"knowledgeBaseIds": [...]} or no bedrockKnowledgeBases at all');
    return;
  }
  v.unknownKeys('bedrockKnowledgeBases', value, { knowledgeBaseIds: 1, region: 1 });
  const ids = value.knowledgeBaseIds;
  if (Array.isArray(ids) && ids.length === 0) {
    v.fail('bedrockKnowledgeBases.knowledgeBaseIds', ids, 'at least one knowledge base id');
  }
  const seen = new Set<string>();
  v.array('bedrockKnowledgeBases.knowledgeBaseIds', ids, (item, s) => {
    if (v.string(s, item, KNOWLEDGE_BASE_ID_PATTERN, 'a knowledge base id: 10 letters or digits, e.g. "ABCDE12345"')) {
      if (seen.has(item as string)) v.fail(s, item, 'each knowledge base id once');
      seen.add(item as string);
    }
  });
  if (value.region !== undefined) {
    v.string('bedrockKnowledgeBases.region', value.region, REGION_PATTERN, 'an AWS region name such as "us-east-1"');
  }
}

const CRON_DAY = '(?:MON|TUE|WED|THU|FRI|SAT|SUN)';
const CRON_DAYS_PATTERN = new RegExp(`^${CRON_DAY}(?:-${CRON_DAY})?(?:,${CRON_DAY}(?:-${CRON_DAY})?)*$`);
const CLOCK_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)$/;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function validateBackendSleep(v: Validator, sleep: BackendSleepConfig, c: DifyEdgeConfig): void {
  if (!isObject(sleep)) {
    v.fail('backend.sleep', sleep, 'an object {"mode": ..., "idleMinutes": ..., "workingHours": {...}}');
    return;
  }
  v.unknownKeys('backend.sleep', sleep as unknown as JsonObject, DEFAULT_CONFIG.backend.sleep);
  v.oneOf('backend.sleep.mode', sleep.mode, ['off', 'idle', 'working-hours']);
  if (sleep.mode !== 'off' && c.hosting === 'alb') {
    v.fail('backend.sleep.mode', sleep.mode, "'off' while hosting is 'alb' (the api runs on ECS there, always on)");
  }
  // A streaming api invocation lasts at most api.timeoutSeconds; the idle window must outlast the longest one.
  const minimum = Math.max(
    20,
    Math.floor((typeof c.api?.timeoutSeconds === 'number' ? c.api.timeoutSeconds : 900) / 60) + 1,
  );
  v.number('backend.sleep.idleMinutes', sleep.idleMinutes, minimum, 1440, { integer: true });
  const hours = sleep.workingHours;
  if (!isObject(hours)) {
    v.fail(
      'backend.sleep.workingHours',
      hours,
      'an object {"days": "MON-FRI", "start": "09:00", "end": "18:00", "timeZone": "Asia/Tokyo"}',
    );
    return;
  }
  v.unknownKeys(
    'backend.sleep.workingHours',
    hours as unknown as JsonObject,
    DEFAULT_CONFIG.backend.sleep.workingHours,
  );
  v.string(
    'backend.sleep.workingHours.days',
    hours.days,
    CRON_DAYS_PATTERN,
    'cron days of week such as "MON-FRI" or "MON,WED,FRI"',
  );
  const startOk = v.string(
    'backend.sleep.workingHours.start',
    hours.start,
    CLOCK_PATTERN,
    'a time "HH:MM" (24 h), e.g. "09:00"',
  );
  const endOk = v.string(
    'backend.sleep.workingHours.end',
    hours.end,
    CLOCK_PATTERN,
    'a time "HH:MM" (24 h), e.g. "18:00"',
  );
  if (startOk && endOk && hours.end <= hours.start) {
    v.fail(
      'backend.sleep.workingHours.end',
      hours.end,
      `a time after workingHours.start (${hours.start}); hours do not wrap past midnight`,
    );
  }
  if (typeof hours.timeZone !== 'string' || !isTimeZone(hours.timeZone)) {
    v.fail('backend.sleep.workingHours.timeZone', hours.timeZone, 'an IANA time zone such as "Asia/Tokyo" or "UTC"');
  }
}

/**
 * Checks every setting and returns the typed configuration. All problems are reported at once so a user fixes
 * the file in one go. Throws ConfigError.
 */
export function validateConfig(input: unknown): DifyEdgeConfig {
  const v = new Validator();
  if (!isObject(input)) {
    throw new ConfigError(`Invalid Dify edge configuration: expected a JSON object, got ${show(input)}`);
  }
  v.unknownKeys('', input, {
    ...DEFAULT_CONFIG,
    account: undefined,
    domain: undefined,
    bedrockKnowledgeBases: undefined,
  });
  const c = input as unknown as DifyEdgeConfig;

  v.string('stackPrefix', c.stackPrefix, STACK_PREFIX_PATTERN, 'letters, digits and hyphens, starting with a letter');
  if (c.account !== undefined) v.string('account', c.account, /^\d{12}$/, 'a 12-digit AWS account id');
  v.string('region', c.region, REGION_PATTERN, 'an AWS region name such as "ap-northeast-1"');
  v.oneOf('hosting', c.hosting, ['lambda', 'alb']);
  v.imageTag('difyVersion', c.difyVersion);
  v.imageTag('pluginDaemonVersion', c.pluginDaemonVersion);
  v.imageTag('sandboxVersion', c.sandboxVersion);
  v.oneOf('nat', c.nat, ['instance', 'gateway']);
  v.string('redisNodeType', c.redisNodeType, NODE_TYPE_PATTERN, 'an ElastiCache node type such as "cache.t4g.micro"');
  v.boolean('retainData', c.retainData);

  if (c.domain !== undefined) {
    if (!isObject(c.domain)) {
      v.fail('domain', c.domain, 'an object {"name": ..., "certificateArn": ...} or no domain setting at all');
    } else {
      v.unknownKeys('domain', c.domain as unknown as JsonObject, { name: 1, certificateArn: 1 });
      v.string('domain.name', c.domain.name, DOMAIN_PATTERN, 'a lower-case host name such as "dify.example.com"');
      const match = typeof c.domain.certificateArn === 'string' ? CERT_ARN_PATTERN.exec(c.domain.certificateArn) : null;
      if (!match) {
        v.fail('domain.certificateArn', c.domain.certificateArn, 'an ACM certificate ARN');
      } else if (match[1] !== 'us-east-1') {
        v.fail(
          'domain.certificateArn',
          c.domain.certificateArn,
          `a certificate in us-east-1 (CloudFront only uses us-east-1 certificates), not one in ${match[1]}`,
        );
      }
    }
  }

  if (c.bedrockKnowledgeBases !== undefined) validateBedrockKnowledgeBases(v, c.bedrockKnowledgeBases);

  const sections: Array<[keyof DifyEdgeConfig, object]> = [
    ['database', DEFAULT_CONFIG.database],
    ['api', DEFAULT_CONFIG.api],
    ['web', DEFAULT_CONFIG.web],
    ['backend', DEFAULT_CONFIG.backend],
    ['waf', DEFAULT_CONFIG.waf],
    ['uploads', DEFAULT_CONFIG.uploads],
  ];
  let sectionsAreObjects = true;
  for (const [name, known] of sections) {
    const section = input[name];
    if (!isObject(section)) {
      v.fail(name, section, 'an object');
      sectionsAreObjects = false;
    } else {
      v.unknownKeys(name, section, known);
    }
  }
  // The checks below read inside the sections; without them there is nothing more to say.
  if (!sectionsAreObjects) v.throwIfAny();

  const db = c.database;
  const minOk = v.number('database.minAcu', db.minAcu, 0, 256, { step: 0.5 });
  const maxOk = v.number('database.maxAcu', db.maxAcu, 1, 256, { step: 0.5 });
  if (minOk && maxOk && db.maxAcu < db.minAcu) {
    v.fail('database.maxAcu', db.maxAcu, `a value ≥ database.minAcu (${db.minAcu})`);
  }
  v.number('database.autoPauseSeconds', db.autoPauseSeconds, 300, 86400, { integer: true });

  v.number('api.memoryMb', c.api.memoryMb, 1024, 10240, { integer: true });
  v.number('api.timeoutSeconds', c.api.timeoutSeconds, 60, 900, { integer: true });
  v.number('api.originReadTimeoutSeconds', c.api.originReadTimeoutSeconds, 1, 180, { integer: true });
  v.number('api.provisionedConcurrency', c.api.provisionedConcurrency, 0, 10, { integer: true });
  v.boolean('api.keepWarm', c.api.keepWarm);
  v.boolean('api.snapStart', c.api.snapStart);
  if (c.api.snapStart === true && c.api.provisionedConcurrency > 0) {
    v.fail('api.snapStart', true, 'false while api.provisionedConcurrency > 0 (Lambda does not combine them)');
  }
  if (c.api.snapStart === true && c.hosting === 'alb') {
    v.fail('api.snapStart', true, "false while hosting is 'alb' (the api runs on ECS there, not Lambda)");
  }
  const hours = typeof c.api.keepWarmHoursUtc === 'string' ? HOURS_PATTERN.exec(c.api.keepWarmHoursUtc) : null;
  // EventBridge cron hour ranges do not wrap around midnight.
  if (!hours || Number(hours[1]) > 23 || Number(hours[2]) > 23 || Number(hours[1]) > Number(hours[2])) {
    v.fail('api.keepWarmHoursUtc', c.api.keepWarmHoursUtc, 'UTC hours "start-end", 0 ≤ start ≤ end ≤ 23, e.g. "0-10"');
  }
  v.number('web.memoryMb', c.web.memoryMb, 512, 10240, { integer: true });
  v.number('uploads.relaySecretGeneration', c.uploads.relaySecretGeneration, 1, 1_000_000, { integer: true });
  v.oneOf('uploads.mode', c.uploads.mode, ['relay', 'full']);
  if (c.uploads.mode === 'full' && c.hosting === 'alb') {
    v.fail('uploads.mode', 'full', "'relay' while hosting is 'alb' (the ALB already carries full-size uploads)");
  }

  const b = c.backend;
  v.number('backend.onDemandBase', b.onDemandBase, 0, 1, { integer: true });
  v.number('backend.spotWeight', b.spotWeight, 0, 1000, { integer: true });
  v.number('backend.onDemandWeight', b.onDemandWeight, 0, 1000, { integer: true });
  if (b.spotWeight === 0 && b.onDemandWeight === 0 && b.onDemandBase === 0) {
    v.fail('backend.spotWeight', b.spotWeight, 'a weight > 0 (or backend.onDemandWeight/onDemandBase > 0)');
  }
  const memories = FARGATE_SIZES[b.cpu];
  if (!memories) {
    v.fail('backend.cpu', b.cpu, `one of ${Object.keys(FARGATE_SIZES).join(', ')} (Fargate task CPU units)`);
  } else if (!memories.includes(b.memoryMiB)) {
    v.fail('backend.memoryMiB', b.memoryMiB, `for cpu ${b.cpu}: one of ${memories.join(', ')} (Fargate sizes)`);
  } else if (b.memoryMiB < 3072) {
    v.fail('backend.memoryMiB', b.memoryMiB, 'at least 3072: five Dify containers share the task and OOM below it');
  }
  v.boolean('backend.enableExec', b.enableExec);
  v.boolean('backend.sandboxNetwork', b.sandboxNetwork);
  validateBackendSleep(v, b.sleep, c);

  const w = c.waf;
  v.array('waf.allowedIpv4Cidrs', w.allowedIpv4Cidrs, (item, s) => {
    if (typeof item !== 'string' || !isCidr(item, 4)) {
      v.fail(s, item, 'an IPv4 CIDR such as "203.0.113.0/24" (prefix /1-/32; IPv6 goes to waf.allowedIpv6Cidrs)');
    }
  });
  v.array('waf.allowedIpv6Cidrs', w.allowedIpv6Cidrs, (item, s) => {
    if (typeof item !== 'string' || !isCidr(item, 6)) {
      v.fail(s, item, 'an IPv6 CIDR such as "2001:db8::/32" (prefix /1-/128; IPv4 goes to waf.allowedIpv4Cidrs)');
    }
  });
  v.array('waf.allowedCountries', w.allowedCountries, (item, s) => {
    if (typeof item !== 'string' || !COUNTRY_PATTERN.test(item)) v.fail(s, item, 'an ISO 3166 alpha-2 code like "JP"');
  });
  v.number('waf.rateLimitPer5Minutes', w.rateLimitPer5Minutes, 10, 2_000_000_000, { integer: true });
  v.boolean('waf.ipReputation', w.ipReputation);

  v.throwIfAny();
  return c;
}

function parseOverride(raw: unknown, source: string): JsonObject {
  if (raw === undefined || raw === null || raw === '') return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isObject(value)) throw new ConfigError(`${source}: expected a JSON object, got ${show(value)}`);
  return value;
}

/**
 * Defaults that depend on the hosting mode: in `alb` hosting the backend does not sleep unless the user asks for it
 * (which validation then rejects with the reason), so an ALB deployment needs no `backend.sleep` setting at all.
 */
function withHostingDefaults(merged: JsonObject, explicit: JsonObject): JsonObject {
  const explicitBackend = isObject(explicit.backend) ? explicit.backend : {};
  const explicitSleep = isObject(explicitBackend.sleep) ? explicitBackend.sleep : {};
  if (merged.hosting !== 'alb' || explicitSleep.mode !== undefined) return merged;
  return deepMerge(merged, { backend: { sleep: { mode: 'off' } } });
}

/** A minimal view of a construct node's context, so this module stays free of CDK imports. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/**
 * Reads defaults ← config file ← `-c difyEdge='{...}'` overrides, then validates. The file is optional: without it
 * the defaults apply (and the README tells users to copy the example first).
 */
export function loadConfig(context: ContextSource, projectRoot: string = path.join(__dirname, '..')): DifyEdgeConfig {
  const fileSetting = context.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  const file = path.resolve(projectRoot, typeof fileSetting === 'string' ? fileSetting : CONFIG_FILE);
  let fromFile: JsonObject = {};
  if (fs.existsSync(file)) {
    fromFile = parseOverride(fs.readFileSync(file, 'utf8'), file);
  } else if (typeof fileSetting === 'string') {
    throw new ConfigError(`${CONFIG_FILE_CONTEXT_KEY}: file ${file} does not exist`);
  }
  const fromContext = parseOverride(context.tryGetContext(CONFIG_CONTEXT_KEY), `context "${CONFIG_CONTEXT_KEY}"`);
  const explicit = deepMerge(fromFile, fromContext);
  const merged = deepMerge(DEFAULT_CONFIG as unknown as JsonObject, explicit);
  return validateConfig(withHostingDefaults(merged, explicit));
}

/** The stack names, derived in one place so bin/, tests and the synth summary agree. */
export function stackNames(config: DifyEdgeConfig): { regional: string; edge: string } {
  return { regional: `${config.stackPrefix}-Regional`, edge: `${config.stackPrefix}-Edge` };
}
