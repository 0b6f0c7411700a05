import { App } from 'aws-cdk-lib';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../../lib/app';
import {
  CONFIG_CONTEXT_KEY,
  CONFIG_FILE_CONTEXT_KEY,
  ConfigError,
  DEFAULT_CONFIG,
  isCidr,
  loadConfig,
  validateConfig,
} from '../../lib/config';

const ROOT = path.join(__dirname, '..', '..');

/** The defaults with one section or value replaced, as a user's file would produce after merging. */
function withOverride(override: Record<string, unknown>): Record<string, unknown> {
  const base = JSON.parse(JSON.stringify(DEFAULT_CONFIG)) as Record<string, unknown>;
  for (const [key, value] of Object.entries(override)) {
    const current = base[key];
    base[key] =
      typeof current === 'object' && current !== null && !Array.isArray(current) && typeof value === 'object'
        ? { ...current, ...(value as object) }
        : value;
  }
  return base;
}

function errorOf(input: unknown): string {
  try {
    validateConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected validateConfig to throw');
}

function contextOf(values: Record<string, unknown>) {
  return { tryGetContext: (key: string) => values[key] };
}

describe('validateConfig', () => {
  test('the defaults are valid and documented values hold', () => {
    const config = validateConfig(withOverride({}));
    expect(config.region).toBe('ap-northeast-1');
    expect(config.hosting).toBe('lambda');
    expect(config.nat).toBe('instance');
    expect(config.retainData).toBe(true);
    expect(config.database.minAcu).toBe(0);
  });

  test.each([
    ['10.0.0.300/24', 'waf.allowedIpv4Cidrs[0]'],
    ['10.0.0.0', 'waf.allowedIpv4Cidrs[0]'],
    ['10.0.0.0/33', 'waf.allowedIpv4Cidrs[0]'],
    ['0.0.0.0/0', 'waf.allowedIpv4Cidrs[0]'],
    ['2001:db8::/32', 'waf.allowedIpv4Cidrs[0]'],
  ])('rejects IPv4 allow-list entry %s naming %s', (cidr, setting) => {
    const message = errorOf(withOverride({ waf: { allowedIpv4Cidrs: [cidr] } }));
    expect(message).toContain(setting);
    expect(message).toContain(JSON.stringify(cidr));
    expect(message).toContain('IPv4 CIDR');
  });

  test('keeps IPv6 apart: an IPv4 range in the IPv6 list is rejected with a pointer to the other list', () => {
    const message = errorOf(withOverride({ waf: { allowedIpv6Cidrs: ['2001:db8::/32', '203.0.113.0/24'] } }));
    expect(message).toContain('waf.allowedIpv6Cidrs[1]');
    expect(message).toContain('waf.allowedIpv4Cidrs');
    expect(message).not.toContain('allowedIpv6Cidrs[0]');
  });

  test('accepts valid CIDRs of both families', () => {
    const config = validateConfig(
      withOverride({
        waf: { allowedIpv4Cidrs: ['203.0.113.0/24', '198.51.100.7/32'], allowedIpv6Cidrs: ['2001:db8::/32'] },
      }),
    );
    expect(config.waf.allowedIpv4Cidrs).toHaveLength(2);
    expect(isCidr('2001:db8::1/128', 6)).toBe(true);
    expect(isCidr('2001:db8::1/129', 6)).toBe(false);
  });

  test.each(['difyVersion', 'pluginDaemonVersion', 'sandboxVersion'])('rejects `latest` for %s', (setting) => {
    for (const tag of ['latest', 'LATEST']) {
      const message = errorOf(withOverride({ [setting]: tag }));
      expect(message).toContain(`${setting}: "${tag}"`);
      expect(message).toContain('pinned image tag');
    }
  });

  test('rejects max ACU below min ACU, naming both settings', () => {
    const message = errorOf(withOverride({ database: { minAcu: 4, maxAcu: 2 } }));
    expect(message).toContain('database.maxAcu: 2');
    expect(message).toContain('database.minAcu (4)');
  });

  test('rejects ACU values off the 0.5 grid', () => {
    expect(errorOf(withOverride({ database: { minAcu: 0.3 } }))).toContain('database.minAcu: 0.3');
  });

  test('rejects a certificate outside us-east-1 and a malformed domain', () => {
    const message = errorOf(
      withOverride({
        domain: {
          name: 'Dify.Example.com',
          certificateArn: 'arn:aws:acm:ap-northeast-1:123456789012:certificate/abc-123',
        },
      }),
    );
    expect(message).toContain('domain.certificateArn');
    expect(message).toContain('us-east-1');
    expect(message).toContain('not one in ap-northeast-1');
    expect(message).toContain('domain.name');
  });

  test('rejects unknown settings (typos) and lists the allowed ones', () => {
    const message = errorOf(withOverride({ hostng: 'alb', waf: { allowedIpv4: [] } }));
    expect(message).toContain('hostng: unknown setting');
    expect(message).toContain('waf.allowedIpv4: unknown setting');
    expect(message).toContain('allowedIpv4Cidrs');
  });

  test('rejects bad enumerations with the allowed values', () => {
    expect(errorOf(withOverride({ hosting: 'ec2' }))).toContain(
      `hosting: "ec2" is not allowed; expected one of 'lambda', 'alb'`,
    );
    expect(errorOf(withOverride({ nat: 'none' }))).toContain(`one of 'instance', 'gateway'`);
  });

  test('rejects Fargate sizes that do not exist and sizes too small for five containers', () => {
    expect(errorOf(withOverride({ backend: { cpu: 1024, memoryMiB: 1024 } }))).toContain('backend.memoryMiB');
    expect(errorOf(withOverride({ backend: { cpu: 512, memoryMiB: 2048 } }))).toContain('at least 3072');
    expect(errorOf(withOverride({ backend: { cpu: 300 } }))).toContain('backend.cpu: 300');
  });

  test('reports every problem at once', () => {
    const message = errorOf(
      withOverride({ region: 'tokyo', api: { memoryMb: 100 }, waf: { rateLimitPer5Minutes: 1 } }),
    );
    expect(message).toContain('region: "tokyo"');
    expect(message).toContain('api.memoryMb: 100');
    expect(message).toContain('waf.rateLimitPer5Minutes: 1');
  });

  test('rejects a non-object configuration', () => {
    expect(errorOf([])).toContain('expected a JSON object');
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-config-'));
  });

  test('merges defaults ← file ← context (JSON string from -c), arrays replaced', () => {
    fs.writeFileSync(
      path.join(dir, 'dify-edge.config.json'),
      JSON.stringify({ region: 'eu-west-1', waf: { allowedIpv4Cidrs: ['203.0.113.0/24'], rateLimitPer5Minutes: 500 } }),
    );
    const config = loadConfig(
      contextOf({ [CONFIG_CONTEXT_KEY]: JSON.stringify({ waf: { allowedIpv4Cidrs: ['198.51.100.0/24'] } }) }),
      dir,
    );
    expect(config.region).toBe('eu-west-1');
    expect(config.waf.allowedIpv4Cidrs).toEqual(['198.51.100.0/24']);
    expect(config.waf.rateLimitPer5Minutes).toBe(500);
    expect(config.hosting).toBe('lambda');
  });

  test('names the file when it is not valid JSON, and a missing explicit file', () => {
    fs.writeFileSync(path.join(dir, 'dify-edge.config.json'), '{ "region": ');
    expect(() => loadConfig(contextOf({}), dir)).toThrow(/dify-edge\.config\.json: not valid JSON/);
    expect(() => loadConfig(contextOf({ [CONFIG_FILE_CONTEXT_KEY]: 'nope.json' }), dir)).toThrow(
      /difyEdgeConfigFile: file .*nope\.json does not exist/,
    );
  });

  test('rejects a context override that is not a JSON object', () => {
    expect(() => loadConfig(contextOf({ [CONFIG_CONTEXT_KEY]: '"alb"' }), dir)).toThrow(/expected a JSON object/);
  });

  test('the example config shipped in the repo is valid', () => {
    const example = path.join(ROOT, 'dify-edge.config.example.json');
    expect(fs.existsSync(example)).toBe(true);
    const config = loadConfig(contextOf({ [CONFIG_FILE_CONTEXT_KEY]: example }), ROOT);
    expect(config.waf.allowedIpv4Cidrs.length).toBeGreaterThan(0);
  });

  test('a bad configuration stops the app before any stack is built', () => {
    const app = new App({
      context: {
        [CONFIG_FILE_CONTEXT_KEY]: 'test/support/test.config.json',
        [CONFIG_CONTEXT_KEY]: { difyVersion: 'latest' },
      },
    });
    expect(() => buildApp(app)).toThrow(/difyVersion: "latest"/);
    expect(app.node.children).toHaveLength(0);
  });
});

describe('cdk synth with a bad configuration (the real CLI)', () => {
  test('fails with a message naming the setting, and writes no templates', async () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-badsynth-'));
    const run = promisify(execFile);
    const bad = JSON.stringify({ waf: { allowedIpv4Cidrs: ['10.0.0.300/24'] }, database: { minAcu: 2, maxAcu: 1 } });
    const result = await run(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir, '-c', `${CONFIG_CONTEXT_KEY}=${bad}`],
      { cwd: ROOT, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' }, timeout: 120_000 },
    ).then(
      () => ({ failed: false, stderr: '' }),
      (e: { stderr?: string; stdout?: string }) => ({ failed: true, stderr: `${e.stderr ?? ''}${e.stdout ?? ''}` }),
    );
    expect(result.failed).toBe(true);
    expect(result.stderr).toContain('waf.allowedIpv4Cidrs[0]: "10.0.0.300/24"');
    expect(result.stderr).toContain('database.maxAcu: 1');
    // A configuration mistake is shown as a message, not as a stack trace.
    expect(result.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
    expect(fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json'))).toHaveLength(0);
  });
});

describe('api.snapStart', () => {
  test('cannot be combined with provisioned concurrency', () => {
    const message = errorOf(withOverride({ api: { snapStart: true, provisionedConcurrency: 1 } }));
    expect(message).toContain('api.snapStart: true');
    expect(message).toContain('api.provisionedConcurrency');
  });

  test("cannot be combined with hosting 'alb' (no Lambda function to snapshot)", () => {
    const message = errorOf(withOverride({ hosting: 'alb', api: { snapStart: true } }));
    expect(message).toContain('api.snapStart: true');
    expect(message).toContain("hosting is 'alb'");
  });
});

describe('uploads.mode', () => {
  test("is 'relay' by default and accepts 'full' in lambda hosting", () => {
    expect(validateConfig(withOverride({})).uploads.mode).toBe('relay');
    expect(validateConfig(withOverride({ uploads: { mode: 'full' } })).uploads.mode).toBe('full');
  });

  test('rejects other values, naming the allowed ones', () => {
    const message = errorOf(withOverride({ uploads: { mode: 'big' } }));
    expect(message).toContain('uploads.mode');
    expect(message).toMatch(/relay.*full/);
  });

  test("cannot be 'full' with hosting 'alb' (the ALB already carries full-size uploads)", () => {
    const message = errorOf(withOverride({ hosting: 'alb', uploads: { mode: 'full' } }));
    expect(message).toContain('uploads.mode');
    expect(message).toContain("hosting is 'alb'");
  });
});

describe('backend.sleep', () => {
  /** The defaults with backend.sleep (and its working hours) partly replaced. */
  function withSleep(sleep: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
    const defaults = DEFAULT_CONFIG.backend.sleep;
    const hours = { ...defaults.workingHours, ...((sleep.workingHours as object | undefined) ?? {}) };
    return withOverride({
      ...top,
      backend: { ...DEFAULT_CONFIG.backend, sleep: { ...defaults, ...sleep, workingHours: hours } },
    });
  }

  test("defaults: 'idle' after 30 minutes, working hours MON-FRI 09:00-18:00 Asia/Tokyo", () => {
    expect(validateConfig(withOverride({})).backend.sleep).toEqual({
      mode: 'idle',
      idleMinutes: 30,
      workingHours: { days: 'MON-FRI', start: '09:00', end: '18:00', timeZone: 'Asia/Tokyo' },
    });
  });

  test.each(['off', 'idle', 'working-hours'])("accepts mode '%s'", (mode) => {
    expect(validateConfig(withSleep({ mode })).backend.sleep.mode).toBe(mode);
  });

  test('rejects an unknown mode, naming the allowed ones', () => {
    const message = errorOf(withSleep({ mode: 'nightly' }));
    expect(message).toContain('backend.sleep.mode');
    expect(message).toMatch(/'off', 'idle', 'working-hours'/);
  });

  test('idleMinutes: at least 20, and longer than the longest api invocation', () => {
    expect(errorOf(withSleep({ idleMinutes: 19 }))).toMatch(/backend\.sleep\.idleMinutes.*from 20 to 1440/);
    expect(errorOf(withSleep({ idleMinutes: 30.5 }))).toContain('backend.sleep.idleMinutes');
    expect(validateConfig(withSleep({ idleMinutes: 20 })).backend.sleep.idleMinutes).toBe(20);
    // Lambda caps api.timeoutSeconds at 900 s (15 min), so the api-timeout floor (16 min) stays below 20 today;
    // a short api timeout does not lower the floor either.
    expect(errorOf(withSleep({ idleMinutes: 15 }, { api: { ...DEFAULT_CONFIG.api, timeoutSeconds: 900 } }))).toMatch(
      /backend\.sleep\.idleMinutes.*from 20/,
    );
    expect(errorOf(withSleep({ idleMinutes: 19 }, { api: { ...DEFAULT_CONFIG.api, timeoutSeconds: 60 } }))).toMatch(
      /backend\.sleep\.idleMinutes.*from 20/,
    );
  });

  test.each(['MON-FRI', 'MON,WED,FRI', 'SAT-SUN', 'MON-WED,FRI'])('accepts days %s', (days) => {
    expect(validateConfig(withSleep({ workingHours: { days } })).backend.sleep.workingHours.days).toBe(days);
  });

  test.each(['WEEKDAYS', 'mon-fri', 'MON-', '1-5', 'MON FRI', ''])('rejects days %j', (days) => {
    expect(errorOf(withSleep({ workingHours: { days } }))).toContain('backend.sleep.workingHours.days');
  });

  test('rejects times that are not HH:MM and an end not after the start', () => {
    expect(errorOf(withSleep({ workingHours: { start: '9:00' } }))).toContain('backend.sleep.workingHours.start');
    expect(errorOf(withSleep({ workingHours: { end: '24:00' } }))).toContain('backend.sleep.workingHours.end');
    const same = errorOf(withSleep({ workingHours: { start: '18:00', end: '18:00' } }));
    expect(same).toContain('backend.sleep.workingHours.end');
    expect(same).toMatch(/after workingHours\.start/);
    expect(errorOf(withSleep({ workingHours: { start: '22:00', end: '06:00' } }))).toMatch(/do not wrap past midnight/);
  });

  test('rejects a time zone that is not IANA', () => {
    const message = errorOf(withSleep({ workingHours: { timeZone: 'Tokyo' } }));
    expect(message).toContain('backend.sleep.workingHours.timeZone');
    expect(message).toContain('IANA');
    expect(validateConfig(withSleep({ workingHours: { timeZone: 'UTC' } })).backend.sleep.workingHours.timeZone).toBe(
      'UTC',
    );
  });

  test('rejects unknown keys in backend.sleep and its working hours', () => {
    expect(errorOf(withSleep({ idleMinute: 30 }))).toContain('backend.sleep');
    expect(errorOf(withSleep({ workingHours: { tz: 'UTC' } }))).toContain('backend.sleep.workingHours');
  });

  test("alb hosting: defaults to 'off'; asking for idle explicitly is an error naming hosting", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-sleep-'));
    try {
      const alb = loadConfig(contextOf({ [CONFIG_CONTEXT_KEY]: { hosting: 'alb' } }), dir);
      expect(alb.backend.sleep.mode).toBe('off');
      expect(loadConfig(contextOf({}), dir).backend.sleep.mode).toBe('idle');
      let message = '';
      try {
        loadConfig(contextOf({ [CONFIG_CONTEXT_KEY]: { hosting: 'alb', backend: { sleep: { mode: 'idle' } } } }), dir);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('backend.sleep.mode');
      expect(message).toContain("hosting is 'alb'");
      expect(errorOf(withSleep({ mode: 'working-hours' }, { hosting: 'alb' }))).toContain("hosting is 'alb'");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('optional settings', () => {
  test('account and domain are accepted when valid', () => {
    const config = validateConfig(
      withOverride({
        account: '123456789012',
        domain: { name: 'dify.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
      }),
    );
    expect(config.domain?.name).toBe('dify.example.com');
    expect(config.account).toBe('123456789012');
  });
});

describe('api.keepWarmHoursUtc', () => {
  test.each(['22-3', '0-24', '9', 'nine-five'])('rejects %s', (hours) => {
    expect(errorOf(withOverride({ api: { keepWarmHoursUtc: hours } }))).toContain(
      `api.keepWarmHoursUtc: "${hours}" is not allowed; expected UTC hours "start-end", 0 ≤ start ≤ end ≤ 23`,
    );
  });

  test('accepts a same-day range', () => {
    expect(validateConfig(withOverride({ api: { keepWarmHoursUtc: '23-23' } })).api.keepWarmHoursUtc).toBe('23-23');
  });
});

describe('bedrockKnowledgeBases', () => {
  test('is off unless set', () => {
    expect(validateConfig(withOverride({})).bedrockKnowledgeBases).toBeUndefined();
  });

  test('accepts knowledge base ids of Bedrock’s shape and an optional region', () => {
    const config = validateConfig(
      withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: ['ABCDE12345', 'kb0000000z'], region: 'us-east-1' } }),
    );
    expect(config.bedrockKnowledgeBases).toEqual({
      knowledgeBaseIds: ['ABCDE12345', 'kb0000000z'],
      region: 'us-east-1',
    });
    expect(
      validateConfig(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: ['ABCDE12345'] } }))
        .bedrockKnowledgeBases?.region,
    ).toBeUndefined();
  });

  test.each([
    ['ABCDE1234', 'bedrockKnowledgeBases.knowledgeBaseIds[0]'],
    ['ABCDE123456', 'bedrockKnowledgeBases.knowledgeBaseIds[0]'],
    ['ABCDE-1234', 'bedrockKnowledgeBases.knowledgeBaseIds[0]'],
    [12345, 'bedrockKnowledgeBases.knowledgeBaseIds[0]'],
  ])('rejects the id %p, naming %s and the allowed shape', (id, setting) => {
    const message = errorOf(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: [id] } }));
    expect(message).toContain(`${setting}: ${JSON.stringify(id)} is not allowed`);
    expect(message).toContain('10 letters or digits');
  });

  test('needs at least one id, each once, in a list', () => {
    expect(errorOf(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: [] } }))).toContain(
      'bedrockKnowledgeBases.knowledgeBaseIds: [] is not allowed; expected at least one knowledge base id',
    );
    expect(
      errorOf(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: ['ABCDE12345', 'ABCDE12345'] } })),
    ).toContain(
      'bedrockKnowledgeBases.knowledgeBaseIds[1]: "ABCDE12345" is not allowed; expected each knowledge base id once',
    );
    expect(errorOf(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: 'ABCDE12345' } }))).toContain(
      'bedrockKnowledgeBases.knowledgeBaseIds: "ABCDE12345" is not allowed; expected a list (JSON array)',
    );
    expect(errorOf(withOverride({ bedrockKnowledgeBases: {} }))).toContain(
      'bedrockKnowledgeBases.knowledgeBaseIds: undefined is not allowed',
    );
  });

  test('rejects a bad region, unknown keys and a non-object', () => {
    expect(
      errorOf(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: ['ABCDE12345'], region: 'tokyo' } })),
    ).toContain('bedrockKnowledgeBases.region: "tokyo" is not allowed; expected an AWS region name');
    const unknown = errorOf(withOverride({ bedrockKnowledgeBases: { knowledgeBaseIds: ['ABCDE12345'], ids: [] } }));
    expect(unknown).toContain(
      'bedrockKnowledgeBases.ids: unknown setting; allowed settings here are knowledgeBaseIds, region',
    );
    expect(errorOf(withOverride({ bedrockKnowledgeBases: ['ABCDE12345'] }))).toContain(
      'bedrockKnowledgeBases: ["ABCDE12345"] is not allowed; expected an object',
    );
  });
});
