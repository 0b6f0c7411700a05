import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../bench/cli';
import { NONCE_VARIABLE, parseReportLine } from '../../bench/commands/cold-start';
import { BenchResult, readResult } from '../../bench/lib/result';
import {
  captureIo,
  ColdTarget,
  LambdaStandIn,
  startColdTarget,
  startEcsStandIn,
  startLambdaStandIn,
  startLogsStandIn,
  startSseStandIn,
  startStatusServer,
} from './stand-ins';

const COLD_DELAY_MS = 300;
let workDir: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-bench-'));
});
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function readJson(file: string): BenchResult {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResult;
}

describe('cold-start', () => {
  let target: ColdTarget;
  let lambda: LambdaStandIn;

  beforeEach(async () => {
    target = await startColdTarget(COLD_DELAY_MS);
    lambda = await startLambdaStandIn('dify-api', { DB_HOST: 'db.internal', SECRET_ARN: 'arn:secret' }, () =>
      target.makeCold(),
    );
  });
  afterEach(async () => {
    await target.close();
    await lambda.close();
  });

  test('forces a cold start per sample, keeps existing env vars and reports cold vs warm', async () => {
    const io = captureIo();
    const out = path.join(workDir, 'cold.json');
    const code = await main(
      [
        'cold-start',
        '--url',
        `${target.url}/apps`,
        '--function',
        'dify-api',
        '--samples',
        '3',
        '--warm',
        '4',
        '--endpoint-url',
        lambda.url,
        '--poll-ms',
        '20',
        '--out',
        out,
      ],
      io,
    );
    expect(io.err).not.toMatch(/error:/);
    expect(code).toBe(0);
    const result = readJson(out);
    expect(result.kind).toBe('cold-start');
    expect(result.target).toBe(`${target.url}/apps`);
    expect(typeof result.startedAt).toBe('string');
    expect(result.phases['cold ttfb']).toHaveLength(3);
    expect(result.phases['warm total']).toHaveLength(12);
    expect(result.summary['cold ttfb'].min).toBeGreaterThanOrEqual(COLD_DELAY_MS - 5);
    expect(result.summary['cold total'].min).toBeGreaterThanOrEqual(result.summary['cold ttfb'].min);
    expect(result.summary['warm ttfb'].max).toBeLessThan(COLD_DELAY_MS / 2);
    expect(result.samples.filter((sample) => sample.phase === 'cold')).toHaveLength(3);
    // Three updates, each merged into the variables the function had, with a fresh nonce each time.
    expect(lambda.updates).toHaveLength(3);
    const nonces = lambda.updates.map((update) => {
      const variables = (update.Environment as { Variables: Record<string, string> }).Variables;
      expect(variables.DB_HOST).toBe('db.internal');
      expect(variables.SECRET_ARN).toBe('arn:secret');
      return variables[NONCE_VARIABLE];
    });
    expect(new Set(nonces).size).toBe(3);
    expect(lambda.variables.DB_HOST).toBe('db.internal');
    // The stand-in said InProgress once after each update: the tool must have polled past it.
    expect(lambda.getCount).toBeGreaterThanOrEqual(1 + 3 * 3);
    expect(target.coldServed).toBe(3 + 1);
    expect(io.err).toMatch(/sample 3\/3/);
    expect(io.out).toMatch(/cold ttfb/);
  });

  test('names the missing permission when UpdateFunctionConfiguration is denied', async () => {
    lambda.denied.add('lambda:UpdateFunctionConfiguration');
    const io = captureIo();
    const code = await main(
      [
        'cold-start',
        '--url',
        target.url,
        '--function',
        'dify-api',
        '--samples',
        '1',
        '--endpoint-url',
        lambda.url,
        '--poll-ms',
        '20',
      ],
      io,
    );
    expect(code).toBe(1);
    expect(io.err).toMatch(/missing permission lambda:UpdateFunctionConfiguration on dify-api/);
  });

  test('says when the function does not exist', async () => {
    const io = captureIo();
    const code = await main(
      ['cold-start', '--url', target.url, '--function', 'nope', '--endpoint-url', lambda.url],
      io,
    );
    expect(code).toBe(1);
    expect(io.err).toMatch(/nope not found/);
    expect(lambda.updates).toHaveLength(0);
  });

  test('an unreachable site fails before the function is touched', async () => {
    const closed = await startColdTarget(0);
    await closed.close();
    const io = captureIo();
    const code = await main(
      ['cold-start', '--url', closed.url, '--function', 'dify-api', '--endpoint-url', lambda.url, '--poll-ms', '20'],
      io,
    );
    expect(code).toBe(1);
    expect(io.err).toContain(`cannot reach ${closed.url}/: connection refused`);
    expect(lambda.updates).toHaveLength(0);
  });

  test('stops at the overall time limit with partial results', async () => {
    const io = captureIo();
    const out = path.join(workDir, 'limited.json');
    const code = await main(
      [
        'cold-start',
        '--url',
        target.url,
        '--function',
        'dify-api',
        '--samples',
        '50',
        '--warm',
        '0',
        '--endpoint-url',
        lambda.url,
        '--poll-ms',
        '20',
        '--time-limit',
        '0.8',
        '--out',
        out,
      ],
      io,
    );
    expect(code).toBe(0);
    const result = readJson(out);
    expect(result.stoppedEarly).toMatch(/time limit/);
    expect(result.phases['cold ttfb'].length).toBeGreaterThan(0);
    expect(result.phases['cold ttfb'].length).toBeLessThan(50);
  });
});

describe("cold-start: Lambda's own Init/Restore Duration from REPORT lines", () => {
  const REPORT_INIT =
    'REPORT RequestId: 11111111-aaaa\tDuration: 812.40 ms\tBilled Duration: 813 ms\tMemory Size: 3008 MB\t' +
    'Max Memory Used: 612 MB\tInit Duration: 9321.77 ms\t';
  const REPORT_RESTORE = (id: string, restore: number): string =>
    `REPORT RequestId: ${id}\tDuration: 120.00 ms\tBilled Duration: 410 ms\tMemory Size: 3008 MB\t` +
    `Max Memory Used: 700 MB\tRestore Duration: ${restore.toFixed(2)} ms\tBilled Restore Duration: 290 ms\t`;
  const REPORT_WARM = (id: string): string =>
    `REPORT RequestId: ${id}\tDuration: 35.10 ms\tBilled Duration: 36 ms\tMemory Size: 3008 MB\tMax Memory Used: 700 MB\t`;

  test('parses the fields of a REPORT line, and nothing else', () => {
    expect(parseReportLine(REPORT_INIT, 5)).toEqual({
      requestId: '11111111-aaaa',
      timestamp: 5,
      durationMs: 812.4,
      initDurationMs: 9321.77,
    });
    expect(parseReportLine(REPORT_RESTORE('r-1', 480.5))).toMatchObject({ restoreDurationMs: 480.5, durationMs: 120 });
    expect(parseReportLine(REPORT_WARM('w-1'))).not.toHaveProperty('initDurationMs');
    expect(parseReportLine('START RequestId: x Version: 3')).toBeUndefined();
  });

  test('each cold sample gets the restore duration of its own REPORT; compare-ready phases', async () => {
    const target = await startColdTarget(COLD_DELAY_MS);
    const logLines: { timestamp: number; message: string }[] = [];
    let sample = 0;
    const lambda = await startLambdaStandIn('dify-api', { DB_HOST: 'db.internal' }, () => {
      target.makeCold();
      sample += 1;
      // What Lambda logs for the sample: a warm leftover from before, then the restored environment's first REPORT.
      const now = Date.now();
      logLines.push({ timestamp: now - 60_000, message: REPORT_RESTORE(`old-${sample}`, 999) });
      logLines.push({ timestamp: now + 500, message: REPORT_RESTORE(`restore-${sample}`, 400 + sample) });
      logLines.push({ timestamp: now + 600, message: REPORT_WARM(`warm-${sample}`) });
    });
    const logs = await startLogsStandIn(() => logLines);
    try {
      const io = captureIo();
      const out = path.join(workDir, 'cold-restore.json');
      const code = await main(
        [
          'cold-start',
          '--url',
          `${target.url}/console/api/setup`,
          '--function',
          'dify-api',
          '--samples',
          '2',
          '--warm',
          '1',
          '--endpoint-url',
          lambda.url,
          '--logs-endpoint-url',
          logs.url,
          '--poll-ms',
          '20',
          '--out',
          out,
        ],
        io,
      );
      expect(io.err).not.toMatch(/error:/);
      expect(code).toBe(0);
      const result = readJson(out);
      expect(result.phases['lambda restore']).toEqual([401, 402]);
      expect(result.phases['lambda init']).toEqual([]);
      const cold = result.samples.filter((entry) => entry.phase === 'cold');
      expect(cold.map((entry) => entry.lambdaRequestId)).toEqual(['restore-1', 'restore-2']);
      expect(cold[0]).toMatchObject({ restoreDurationMs: 401, lambdaDurationMs: 120 });
      expect(logs.requests[0]).toMatchObject({
        logGroupName: '/aws/lambda/dify-api',
        filterPattern: '"REPORT RequestId"',
      });
      expect(io.err).toMatch(/Lambda restore 401 ms/);

      // compare puts the platform numbers of two runs side by side (e.g. snapshot vs a full init).
      const initRun = {
        ...result,
        label: 'no snapshot',
        phases: { ...result.phases, 'lambda init': [9321.77], 'lambda restore': [] },
      };
      const initFile = path.join(workDir, 'cold-init.json');
      fs.writeFileSync(initFile, JSON.stringify(initRun));
      const compareIo = captureIo();
      expect(await main(['compare', initFile, out], compareIo)).toBe(0);
      expect(compareIo.out).toMatch(/lambda init/);
      expect(compareIo.out).toMatch(/lambda restore/);
    } finally {
      await Promise.all([target.close(), lambda.close(), logs.close()]);
    }
  });

  test('without logs:FilterLogEvents the run still measures, and says why the Lambda numbers are missing', async () => {
    const target = await startColdTarget(COLD_DELAY_MS);
    const lambda = await startLambdaStandIn('dify-api', {}, () => target.makeCold());
    const logs = await startLogsStandIn(() => [], { denied: true });
    try {
      const io = captureIo();
      const out = path.join(workDir, 'cold-nologs.json');
      const code = await main(
        [
          'cold-start',
          '--url',
          target.url,
          '--function',
          'dify-api',
          '--samples',
          '2',
          '--warm',
          '0',
          '--endpoint-url',
          lambda.url,
          '--logs-endpoint-url',
          logs.url,
          '--poll-ms',
          '20',
          '--out',
          out,
        ],
        io,
      );
      expect(code).toBe(0);
      const result = readJson(out);
      expect(result.phases['cold total']).toHaveLength(2);
      expect(result.phases['lambda restore']).toEqual([]);
      expect(result.notes.join(' ')).toMatch(/logs:FilterLogEvents .*AccessDenied/);
      expect(logs.requests).toHaveLength(1);
    } finally {
      await Promise.all([target.close(), lambda.close(), logs.close()]);
    }
  });
});

describe('cold-start --alias', () => {
  let target: ColdTarget;
  let lambda: LambdaStandIn;

  beforeEach(async () => {
    // Like this project's stack: the site reaches the function through a URL on alias `live`, so what it serves
    // (and whether that is cold) follows the version the alias points at, not $LATEST.
    target = await startColdTarget(COLD_DELAY_MS, () => lambda.aliases.live.version);
    lambda = await startLambdaStandIn(
      'dify-api',
      { DB_HOST: 'db.internal', SECRET_ARN: 'arn:secret' },
      () => undefined,
      { aliases: { live: '1' }, functionUrlQualifier: 'live' },
    );
  });
  afterEach(async () => {
    await target.close();
    await lambda.close();
  });

  const run = (extra: string[], io = captureIo()) =>
    main(
      ['cold-start', '--url', `${target.url}/console/api/setup`, '--function', 'dify-api', '--endpoint-url', lambda.url]
        .concat(['--poll-ms', '20'])
        .concat(extra),
      io,
    );

  test('without --alias only $LATEST changes: the site stays warm and the tool says to use --alias', async () => {
    const io = captureIo();
    const out = path.join(workDir, 'latest-only.json');
    expect(await run(['--samples', '2', '--warm', '1', '--out', out], io)).toBe(0);
    expect(io.err).toMatch(/warning: the function URL of dify-api is on alias live.*use --alias live/);
    const result = readJson(out);
    expect(result.phases['cold ttfb']).toHaveLength(2);
    // The "cold" samples were warm: only the probe before the first sample met a cold environment.
    expect(result.summary['cold ttfb'].max).toBeLessThan(COLD_DELAY_MS / 2);
    expect(target.coldServed).toBe(1);
    expect(lambda.updates).toHaveLength(2);
    expect(lambda.publishRequests).toHaveLength(0);
    expect(lambda.aliases.live.version).toBe('1');
  });

  test('publishes each change, moves the alias to it and measures a cold start per sample', async () => {
    const io = captureIo();
    const out = path.join(workDir, 'alias-cold.json');
    expect(await run(['--alias', 'live', '--samples', '3', '--warm', '2', '--out', out], io)).toBe(0);
    expect(io.err).not.toMatch(/error:|warning:/);
    const result = readJson(out);
    expect(result.phases['cold ttfb']).toHaveLength(3);
    expect(result.summary['cold ttfb'].min).toBeGreaterThanOrEqual(COLD_DELAY_MS - 5);
    expect(result.summary['warm ttfb'].max).toBeLessThan(COLD_DELAY_MS / 2);
    expect(result.settings).toMatchObject({ alias: 'live', aliasOriginalVersion: '1' });
    expect(result.samples.filter((sample) => sample.phase === 'cold').map((sample) => sample.version)).toEqual([
      '2',
      '3',
      '4',
    ]);
    // Each publish named the $LATEST revision and code it had just produced, so a concurrent change would fail.
    expect(lambda.publishRequests.map((request) => request.RevisionId)).toEqual(['rev-2', 'rev-3', 'rev-4']);
    for (const request of lambda.publishRequests) expect(typeof request.CodeSha256).toBe('string');
    // The alias only ever moved to versions that were already Active.
    expect(lambda.aliasUpdates).toEqual(
      ['2', '3', '4'].map((version) => ({ alias: 'live', version, versionState: 'Active' })),
    );
    expect(lambda.aliases.live.version).toBe('4');
    const nonces = ['2', '3', '4'].map((version) => {
      const variables = lambda.versions[version].variables;
      expect(variables).toMatchObject({ DB_HOST: 'db.internal', SECRET_ARN: 'arn:secret' });
      return variables[NONCE_VARIABLE];
    });
    expect(new Set(nonces).size).toBe(3);
    expect(lambda.versions['1'].variables[NONCE_VARIABLE]).toBeUndefined();
    expect(target.versionsServed).toEqual(['1', '2', '3', '4']);
    const pointBack =
      'alias live of dify-api now points at version 4 (version 1 before the run). To point it back: ' +
      `aws lambda update-alias --function-name dify-api --name live --function-version 1 --region us-east-1 ` +
      `--endpoint-url ${lambda.url}`;
    expect(io.err).toContain(pointBack);
    expect(result.notes).toContain(pointBack);
    expect(result.notes.join('\n')).toMatch(/Published versions 2, 3, 4 of dify-api/);
  });

  test('--restore-alias points the alias back at its original version', async () => {
    const io = captureIo();
    expect(await run(['--alias', 'live', '--restore-alias', '--samples', '2', '--warm', '0'], io)).toBe(0);
    expect(lambda.aliasUpdates.map((update) => update.version)).toEqual(['2', '3', '1']);
    expect(lambda.aliases.live.version).toBe('1');
    expect(io.err).toContain('alias live of dify-api points at version 1 again (restored from version 3).');
    expect(io.err).not.toContain('To point it back');
  });

  test('refuses an alias with routing weights before changing anything', async () => {
    lambda.aliases.live.weights = { '7': 0.1 };
    const io = captureIo();
    expect(await run(['--alias', 'live'], io)).toBe(1);
    expect(io.err).toMatch(
      /error: alias live of dify-api splits traffic between versions \(RoutingConfig version 7: 0\.1\)/,
    );
    expect(io.err).toMatch(/nothing was changed/);
    expect(lambda.updates).toHaveLength(0);
    expect(lambda.publishRequests).toHaveLength(0);
    expect(lambda.aliasUpdates).toHaveLength(0);
  });

  test('refuses an alias with provisioned concurrency before changing anything', async () => {
    lambda.provisioned.live = 2;
    const io = captureIo();
    expect(await run(['--alias', 'live'], io)).toBe(1);
    expect(io.err).toMatch(/error: alias live of dify-api has provisioned concurrency \(2 requested, status READY\)/);
    expect(lambda.updates).toHaveLength(0);
    expect(lambda.publishRequests).toHaveLength(0);
  });

  test.each(['lambda:GetAlias', 'lambda:PublishVersion', 'lambda:UpdateAlias'])(
    'names the missing permission when %s is denied and says where the alias points',
    async (action) => {
      lambda.denied.add(action);
      const io = captureIo();
      expect(await run(['--alias', 'live', '--samples', '1'], io)).toBe(1);
      expect(io.err).toMatch(new RegExp(`error: missing permission ${action} on (alias live of )?dify-api`));
      expect(lambda.aliases.live.version).toBe('1');
      if (action !== 'lambda:GetAlias') {
        expect(io.err).toContain('alias live of dify-api still points at version 1 (unchanged).');
      }
    },
  );

  test('the time limit mid-sample keeps earlier samples and says where the alias was left', async () => {
    // Version 2 turns Active at once; version 3 would take a minute (think SnapStart), past the limit.
    lambda.versionPendingMs = (version) => (version >= 3 ? 60_000 : 0);
    const io = captureIo();
    const out = path.join(workDir, 'alias-limited.json');
    const code = await run(
      ['--alias', 'live', '--samples', '5', '--warm', '1', '--time-limit', '1.5', '--out', out],
      io,
    );
    expect(code).toBe(0);
    const result = readJson(out);
    expect(result.stoppedEarly).toMatch(
      /time limit of 1.5 s reached while version 3 of dify-api was still Pending \(alias live was not moved to it\)/,
    );
    expect(result.phases['cold ttfb']).toHaveLength(1);
    expect(lambda.aliases.live.version).toBe('2');
    expect(io.err).toContain(
      'alias live of dify-api now points at version 2 (version 1 before the run). To point it back: ' +
        'aws lambda update-alias --function-name dify-api --name live --function-version 1',
    );
    expect(result.notes.join('\n')).toMatch(/Published versions 2, 3 of dify-api/);
  });

  test('the time limit before anything was measured fails and leaves the alias where it was', async () => {
    lambda.versionPendingMs = () => 60_000;
    const io = captureIo();
    expect(await run(['--alias', 'live', '--time-limit', '0.4'], io)).toBe(1);
    expect(io.err).toMatch(/error: overall time limit of 0.4 s reached while version 2 of dify-api was still Pending/);
    expect(io.err).toContain('alias live of dify-api still points at version 1 (unchanged).');
    expect(lambda.aliasUpdates).toHaveLength(0);
  });
});

describe('latency', () => {
  test('counts errors by status and times the served requests', async () => {
    const server = await startStatusServer();
    try {
      const io = captureIo();
      const out = path.join(workDir, 'latency.json');
      const code = await main(
        ['latency', '--url', `${server.url}/health`, '--requests', '20', '--concurrency', '4', '--out', out],
        io,
      );
      expect(code).toBe(0);
      const result = readJson(out);
      expect(result.kind).toBe('latency');
      expect(result.samples).toHaveLength(20);
      expect(result.errors).toEqual({ 'HTTP 503': 2, 'HTTP 404': 2 });
      expect(result.statusCounts).toEqual({ '200': 16, '503': 2, '404': 2 });
      expect(result.phases.total).toHaveLength(16);
      expect(io.err).toMatch(/20\/20 requests/);
    } finally {
      await server.close();
    }
  });
});

describe('stream', () => {
  test('times the first SSE event and counts events and answer length', async () => {
    const server = await startSseStandIn('app-key', 150, ['Hello', ', ', 'world']);
    try {
      const io = captureIo();
      const out = path.join(workDir, 'stream.json');
      const code = await main(
        ['stream', '--url', server.url, '--api-key', 'app-key', '--query', 'hi', '--samples', '2', '--out', out],
        io,
      );
      expect(io.err).not.toMatch(/error:/);
      expect(code).toBe(0);
      const result = readJson(out);
      expect(result.kind).toBe('stream');
      expect(result.phases['first event']).toHaveLength(2);
      expect(result.summary['first event'].min).toBeGreaterThanOrEqual(145);
      expect(result.summary.total.min).toBeGreaterThanOrEqual(result.summary['first answer'].min);
      // ping + 3 messages + message_end
      expect(result.samples.map((sample) => sample.eventCount)).toEqual([5, 5]);
      expect(result.samples[0].answerLength).toBe('Hello, world'.length);
      expect(server.bodies[0]).toMatchObject({ query: 'hi', response_mode: 'streaming' });
      expect(server.authorizations[0]).toBe('Bearer app-key');
    } finally {
      await server.close();
    }
  });

  test('a rejected API key fails with the status and body', async () => {
    const server = await startSseStandIn('app-key', 0, ['x']);
    try {
      const io = captureIo();
      const code = await main(['stream', '--url', server.url, '--api-key', 'wrong'], io);
      expect(code).toBe(1);
      expect(io.err).toMatch(/HTTP 401 \(API key rejected\)/);
    } finally {
      await server.close();
    }
  });
});

describe('wake', () => {
  test('times running and completed after scaling from 0, then restores 0', async () => {
    const ecs = await startEcsStandIn(150, 300);
    try {
      const io = captureIo();
      const out = path.join(workDir, 'wake.json');
      const code = await main(
        [
          'wake',
          '--cluster',
          'bench',
          '--service',
          'backend',
          '--restore',
          '--samples',
          '2',
          '--timeout',
          '5',
          '--endpoint-url',
          ecs.url,
          '--poll-ms',
          '20',
          '--out',
          out,
        ],
        io,
      );
      expect(io.err).not.toMatch(/error:/);
      expect(code).toBe(0);
      const result = readJson(out);
      expect(result.kind).toBe('wake');
      expect(result.phases.running).toHaveLength(2);
      expect(result.summary.running.min).toBeGreaterThanOrEqual(140);
      expect(result.summary.completed.min).toBeGreaterThanOrEqual(290);
      expect(result.summary.completed.max).toBeLessThan(2000);
      expect(ecs.desiredCounts).toEqual([1, 0, 1, 0]);
      expect(ecs.targets.every((target) => target.startsWith('AmazonEC2ContainerServiceV20141113.'))).toBe(true);
    } finally {
      await ecs.close();
    }
  });

  test('names the missing ECS permission', async () => {
    const ecs = await startEcsStandIn(10, 10);
    ecs.denied.add('ecs:UpdateService');
    try {
      const io = captureIo();
      const code = await main(['wake', '--cluster', 'bench', '--service', 'backend', '--endpoint-url', ecs.url], io);
      expect(code).toBe(1);
      expect(io.err).toMatch(/missing permission ecs:UpdateService on service backend in cluster bench/);
    } finally {
      await ecs.close();
    }
  });

  test('times out with a clear message and still restores 0', async () => {
    const ecs = await startEcsStandIn(60_000, 60_000);
    try {
      const io = captureIo();
      const code = await main(
        [
          'wake',
          '--cluster',
          'bench',
          '--service',
          'backend',
          '--restore',
          '--timeout',
          '0.3',
          '--endpoint-url',
          ecs.url,
          '--poll-ms',
          '20',
        ],
        io,
      );
      expect(code).toBe(1);
      expect(io.err).toMatch(/service backend in cluster bench did not finish starting within 0\.3 s/);
      expect(ecs.desiredCounts).toEqual([1, 0]);
    } finally {
      await ecs.close();
    }
  });
});

describe('bad arguments and unreachable URLs', () => {
  test.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['latency'], /--url is required/],
    [['latency', '--url', 'http://127.0.0.1:1', '--requests', 'ten'], /--requests must be a whole number.*'ten'/],
    [
      ['cold-start', '--url', 'http://127.0.0.1:1', '--function', 'f', '--samples', 'abc'],
      /--samples must be a whole number.*'abc'/,
    ],
    [
      ['cold-start', '--url', 'http://127.0.0.1:1', '--function', 'f', '--restore-alias'],
      /--restore-alias needs --alias/,
    ],
    [
      ['cold-start', '--url', 'http://127.0.0.1:1', '--function', 'f', '--alias', '42'],
      /--alias must be an alias name/,
    ],
    [['latency', '--url', 'not a url'], /not a valid URL: 'not a url'/],
    [['latency', '--url', 'ftp://example.com/'], /must be an http:\/\/ or https:\/\/ URL/],
    [['latency', '--url', 'http://127.0.0.1:1', '--bogus'], /Unknown option '--bogus'/],
    [['wake', '--cluster', 'c', '--service', 's', '--samples', '2'], /needs --restore/],
    [['compare', 'only-one.json'], /expected two result files/],
  ])('%j exits 2 with a clear message', async (argv, message) => {
    const io = captureIo();
    expect(await main(argv as string[], io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  test('no command prints usage and exits 2', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(2);
    expect(io.err).toMatch(/usage: npm run bench/);
  });

  test('ECONNREFUSED becomes "cannot reach <url>: connection refused"', async () => {
    const server = await startStatusServer();
    await server.close();
    const io = captureIo();
    expect(await main(['latency', '--url', `${server.url}/x`, '--requests', '5'], io)).toBe(1);
    expect(io.err).toContain(`cannot reach ${server.url}/x: connection refused`);
  });

  test('the tsx entry point exits non-zero on a bad argument', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(
      process.execPath,
      [require.resolve('tsx/cli'), 'bench/cli.ts', 'latency', '--requests', 'x'],
      {
        cwd: path.resolve(__dirname, '../..'),
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--url is required/);
  });
});

describe('compare', () => {
  test('writes a side-by-side Markdown report and a well-formed SVG with both series', async () => {
    const a = path.join(workDir, 'a.json');
    const b = path.join(workDir, 'b.json');
    const base = {
      tool: 'dify-edge-bench',
      formatVersion: 1,
      startedAt: '2026-11-24T00:00:00Z',
      finishedAt: '',
      settings: {},
      summary: {},
      errors: {},
      samples: [],
      notes: [],
    };
    fs.writeFileSync(
      a,
      JSON.stringify({
        ...base,
        kind: 'cold-start',
        label: 'lambda <edge>',
        target: 'https://a/',
        phases: { 'cold total': [2000, 3000, 4000], 'warm total': [40, 50, 60] },
      }),
    );
    fs.writeFileSync(
      b,
      JSON.stringify({
        ...base,
        kind: 'cold-start',
        label: 'alb',
        target: 'https://b/',
        errors: { 'HTTP 502': 1 },
        phases: { 'cold total': [1000, 1500, 2000], 'warm total': [80, 100, 120] },
      }),
    );
    const report = path.join(workDir, 'out', 'report.md');
    const chart = path.join(workDir, 'out', 'chart.svg');
    const io = captureIo();
    expect(await main(['compare', a, b, '--out', report, '--svg', chart], io)).toBe(0);
    const markdown = fs.readFileSync(report, 'utf8');
    expect(markdown).toMatch(/\| \| median \| 3000 ms \| 1500 ms \| 0\.50× \|/);
    expect(markdown).toMatch(/\| \| median \| 50 ms \| 100 ms \| 2\.00× \|/);
    expect(markdown).toContain('HTTP 502 ×1');
    expect(markdown).toContain('![distributions](chart.svg)');
    const svg = fs.readFileSync(chart, 'utf8').trim();
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('class="series-a"');
    expect(svg).toContain('class="series-b"');
    expect(svg).toContain('lambda &#60;edge&#62;');
    expect(svg).not.toContain('<edge>');
    // Every opened element is closed (or self-closing): a cheap well-formedness check without an XML parser.
    const opened = (svg.match(/<(?!\/)[a-z]+[^>]*[^/]>/g) ?? []).length;
    const closed = (svg.match(/<\/[a-z]+>/g) ?? []).length;
    expect(opened).toBe(closed);
    expect((svg.match(/<circle /g) ?? []).length).toBe(12);
  });

  test('reads the results the other commands wrote and rejects a file that is not one', async () => {
    const io = captureIo();
    const files = ['cold.json', 'latency.json', 'stream.json', 'wake.json'].map((name) => path.join(workDir, name));
    for (const file of files) expect(readResult(file).phases).toBeDefined();
    expect(await main(['compare', files[0], files[3]], io)).toBe(0);
    expect(io.out).toMatch(/\*\*completed\*\*/);
    const paired = captureIo();
    expect(await main(['compare', files[0], files[3], '--pair', 'cold total=completed'], paired)).toBe(0);
    expect(paired.out).not.toMatch(/\*\*completed\*\*/);
    expect(paired.out).toMatch(/\| \| median \| \d+ ms \| \d+ ms \| \d+\.\d\d× \|/);
    const badPair = captureIo();
    expect(await main(['compare', files[0], files[3], '--pair', 'nope=completed'], badPair)).toBe(2);
    expect(badPair.err).toMatch(/A has no phase 'nope'/);
    const bogus = path.join(workDir, 'bogus.json');
    fs.writeFileSync(bogus, '{"hello":1}');
    const failing = captureIo();
    expect(await main(['compare', bogus, files[0]], failing)).toBe(1);
    expect(failing.err).toMatch(/not a bench result/);
  });
});
