/**
 * The backend sleep controller (docs/adr/0018): its decision table, working hours in a time zone, and the handler
 * end to end against local stand-ins for Redis (RESP), ECS, CloudWatch and Secrets Manager.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClient } from '@redis/client';
import * as net from 'node:net';
import {
  decide,
  isWithinWorkingHours,
  parseDays,
  RUNNING_TASK_MAX_AGE_SECONDS,
  type Activity,
  type ObservedState,
  type ServiceState,
  type SleepSettings,
} from '../../functions/backend-sleep/decision';
import { ENVIRONMENT, LAST_USE_KEY, RUNNING_KEY } from '../../functions/backend-sleep/environment';
import {
  brokerListKeys,
  KOMBU_PRIORITY_SEPARATOR,
  KOMBU_UNACKED_KEY,
  readSettings,
  runController,
  type ControllerSettings,
} from '../../functions/backend-sleep';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from '../containers/fake-secrets-manager';
import { startFakeCloudWatch, type FakeCloudWatch } from './fake-cloudwatch-server';
import { startFakeEcs, type FakeEcs } from './fake-ecs-server';
import { startFakeRedis, type FakeRedis } from './fake-redis-server';
import { fakeCredentials } from './local-server';

/** Wednesday 2026-12-02 21:00 in Tokyo (12:00 UTC): outside the default working hours. */
const EVENING_TOKYO = Date.UTC(2026, 11, 2, 12, 0, 0) / 1000;
/** Wednesday 2026-12-02 12:00 in Tokyo (03:00 UTC). */
const NOON_TOKYO = Date.UTC(2026, 11, 2, 3, 0, 0) / 1000;
/** Saturday 2026-12-05 12:00 in Tokyo. */
const SATURDAY_NOON_TOKYO = Date.UTC(2026, 11, 5, 3, 0, 0) / 1000;

const TOKYO_HOURS = { days: 'MON-FRI', start: '09:00', end: '18:00', timeZone: 'Asia/Tokyo' };
const IDLE: SleepSettings = { mode: 'idle', idleMinutes: 30, workingHours: TOKYO_HOURS };
const WORKING_HOURS: SleepSettings = { ...IDLE, mode: 'working-hours' };

const steady: ServiceState = {
  desiredCount: 1,
  runningCount: 1,
  pendingCount: 0,
  deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', updatedAtEpochSeconds: EVENING_TOKYO - 86400 }],
};
const quiet: Activity = { lastUse: String(EVENING_TOKYO - 45 * 60), runningTasks: [], queued: [], unacked: 0 };

function observed(overrides: Partial<ObservedState> = {}, activity: Partial<Activity> = {}): ObservedState {
  return {
    nowEpochSeconds: EVENING_TOKYO,
    service: steady,
    activity: { ok: true, value: { ...quiet, ...activity } },
    relayInvocations: { ok: true, value: 0 },
    ...overrides,
  };
}

describe('decision table', () => {
  test.each<[string, ObservedState, SleepSettings, 'sleep' | 'wake' | 'stay', RegExp]>([
    ['idle for longer than idleMinutes', observed(), IDLE, 'sleep', /last real request 45 min ago/],
    [
      'busy: last real request inside the window',
      observed({}, { lastUse: String(EVENING_TOKYO - 10 * 60) }),
      IDLE,
      'stay',
      /last real request 10 min ago/,
    ],
    [
      'keep-warm pings only: last-use never written',
      observed({}, { lastUse: undefined }),
      IDLE,
      'sleep',
      /no real request recorded/,
    ],
    [
      'a Celery task running',
      observed(
        {},
        { runningTasks: [{ field: 'ecs1:c1', value: `${EVENING_TOKYO - 3600} tasks.document_indexing_task` }] },
      ),
      IDLE,
      'stay',
      /1 Celery task\(s\) running: tasks.document_indexing_task/,
    ],
    [
      'a running mark older than 12 h is ignored',
      observed(
        {},
        {
          runningTasks: [
            { field: 'ecs0:c0', value: `${EVENING_TOKYO - RUNNING_TASK_MAX_AGE_SECONDS - 60} tasks.lost` },
          ],
        },
      ),
      IDLE,
      'sleep',
      /1 mark\(s\) older than 12 h ignored/,
    ],
    [
      'a running mark that cannot be read counts as running',
      observed({}, { runningTasks: [{ field: 'ecs1:c2', value: 'garbage' }] }),
      IDLE,
      'stay',
      /running/,
    ],
    [
      'a queued message',
      observed({}, { queued: [{ key: 'dataset', length: 2 }] }),
      IDLE,
      'stay',
      /Celery messages waiting: dataset=2/,
    ],
    [
      'a queued message on a priority list',
      observed({}, { queued: [{ key: `mail${KOMBU_PRIORITY_SEPARATOR}3`, length: 1 }] }),
      IDLE,
      'stay',
      /mail\\x06\\x163=1/,
    ],
    [
      'an unacknowledged message',
      observed({}, { unacked: 1 }),
      IDLE,
      'stay',
      /1 Celery message\(s\) taken but not acknowledged/,
    ],
    [
      'relay invocations in the window (plugin endpoints)',
      observed({ relayInvocations: { ok: true, value: 3 } }),
      IDLE,
      'stay',
      /upload relay invoked 3 time/,
    ],
    [
      'relay metrics unreadable',
      observed({ relayInvocations: { ok: false, error: 'AccessDenied' } }),
      IDLE,
      'stay',
      /could not read the upload relay/,
    ],
    [
      'no relay configured: not checked',
      observed({ relayInvocations: undefined }),
      IDLE,
      'sleep',
      /Celery queues empty/,
    ],
    [
      'Redis unreadable',
      observed({ activity: { ok: false, error: 'ECONNREFUSED' } }),
      IDLE,
      'stay',
      /could not read Redis \(ECONNREFUSED\)/,
    ],
    ['last-use not a number', observed({}, { lastUse: 'soon' }), IDLE, 'stay', /not epoch seconds/],
    [
      'deployment in progress',
      observed({ service: { ...steady, deployments: [{ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' }] } }),
      IDLE,
      'stay',
      /deployment in progress/,
    ],
    [
      'an older deployment still draining',
      observed({
        service: {
          ...steady,
          deployments: [
            { status: 'PRIMARY', rolloutState: 'COMPLETED' },
            { status: 'ACTIVE', rolloutState: 'COMPLETED' },
          ],
        },
      }),
      IDLE,
      'stay',
      /deployment in progress \(2/,
    ],
    [
      'deployment updated inside the window (a fresh task)',
      observed({
        service: {
          ...steady,
          deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', updatedAtEpochSeconds: EVENING_TOKYO - 300 }],
        },
      }),
      IDLE,
      'stay',
      /deployment updated 5 min ago/,
    ],
    [
      'starting: running below desired',
      observed({ service: { ...steady, runningCount: 0, pendingCount: 1 } }),
      IDLE,
      'stay',
      /starting: 0 running, 1 pending of 1 desired/,
    ],
    [
      'desired 0: asleep, nothing to do',
      observed({ service: { ...steady, desiredCount: 0, runningCount: 0 } }),
      IDLE,
      'stay',
      /asleep/,
    ],
    [
      'desired 0 with use recorded: still not the controller that wakes',
      observed({ service: { ...steady, desiredCount: 0, runningCount: 0 } }, { lastUse: String(EVENING_TOKYO) }),
      IDLE,
      'stay',
      /asleep/,
    ],
    [
      'working hours, inside, desired 0: wake',
      observed({ nowEpochSeconds: NOON_TOKYO, service: { ...steady, desiredCount: 0, runningCount: 0 } }),
      WORKING_HOURS,
      'wake',
      /inside working hours \(MON-FRI 09:00-18:00 Asia\/Tokyo\)/,
    ],
    [
      'working hours, inside, running and idle: stay',
      observed({ nowEpochSeconds: NOON_TOKYO }, { lastUse: String(NOON_TOKYO - 3 * 3600) }),
      WORKING_HOURS,
      'stay',
      /inside working hours/,
    ],
    ['working hours, outside (evening), idle: sleep', observed(), WORKING_HOURS, 'sleep', /last real request/],
    [
      'working hours, Saturday noon, idle: sleep',
      observed({ nowEpochSeconds: SATURDAY_NOON_TOKYO }, { lastUse: String(SATURDAY_NOON_TOKYO - 3600) }),
      WORKING_HOURS,
      'sleep',
      /60 min ago/,
    ],
    [
      'working hours, outside, desired 0: stay asleep',
      observed({ service: { ...steady, desiredCount: 0, runningCount: 0 } }),
      WORKING_HOURS,
      'stay',
      /asleep/,
    ],
    [
      'working hours, inside, deployment in progress: nothing',
      observed({
        nowEpochSeconds: NOON_TOKYO,
        service: {
          desiredCount: 0,
          runningCount: 0,
          pendingCount: 0,
          deployments: [{ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' }],
        },
      }),
      WORKING_HOURS,
      'stay',
      /deployment in progress/,
    ],
  ])('%s', (_name, state, settings, action, reason) => {
    const decision = decide(state, settings);
    expect(decision.action).toBe(action);
    expect(decision.reasons.join('; ')).toMatch(reason);
  });

  test('every reason that blocks sleeping is reported, not only the first', () => {
    const decision = decide(
      observed({ relayInvocations: { ok: true, value: 1 } }, { lastUse: String(EVENING_TOKYO - 60), unacked: 2 }),
      IDLE,
    );
    expect(decision.action).toBe('stay');
    expect(decision.reasons).toHaveLength(3);
  });
});

describe('working hours', () => {
  test.each([
    ['MON-FRI', ['MON', 'TUE', 'WED', 'THU', 'FRI']],
    ['MON,WED,FRI', ['MON', 'WED', 'FRI']],
    ['SAT-SUN', ['SAT', 'SUN']],
    ['FRI-MON', ['FRI', 'SAT', 'SUN', 'MON']],
    ['SUN-SAT', ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']],
    ['MON-WED,FRI', ['MON', 'TUE', 'WED', 'FRI']],
  ])('%s names %j', (days, expected) => {
    expect([...parseDays(days)].sort()).toEqual([...expected].sort());
  });

  test('rejects what is not a day list', () => {
    expect(() => parseDays('MON-FRI-SAT')).toThrow(/not a day or a range/);
    expect(() => parseDays('MONDAY')).toThrow(/not a day name/);
  });

  test('Asia/Tokyo: the hours are local (UTC+9, no DST), start inclusive, end exclusive', () => {
    const at = (utcHour: number, minute = 0) => Date.UTC(2026, 11, 2, utcHour, minute) / 1000;
    expect(isWithinWorkingHours(at(0, 0), TOKYO_HOURS)).toBe(true); // 09:00 JST Wednesday
    expect(isWithinWorkingHours(at(23, 59) - 86400, TOKYO_HOURS)).toBe(false); // 08:59 JST
    expect(isWithinWorkingHours(at(8, 59), TOKYO_HOURS)).toBe(true); // 17:59 JST
    expect(isWithinWorkingHours(at(9, 0), TOKYO_HOURS)).toBe(false); // 18:00 JST
    // Friday 23:30 UTC is Saturday 08:30 in Tokyo; Sunday 23:30 UTC is Monday 08:30 (still before the hours).
    expect(isWithinWorkingHours(Date.UTC(2026, 11, 4, 23, 30) / 1000, TOKYO_HOURS)).toBe(false);
    expect(isWithinWorkingHours(Date.UTC(2026, 11, 7, 0, 30) / 1000, TOKYO_HOURS)).toBe(true); // Monday 09:30 JST
  });

  test('America/New_York across the start of DST (2026-03-08): the same UTC time falls on either side', () => {
    const hours = { days: 'MON-FRI', start: '09:00', end: '18:00', timeZone: 'America/New_York' };
    // Friday 2026-03-06 is EST (UTC-5), Monday 2026-03-09 is EDT (UTC-4).
    expect(isWithinWorkingHours(Date.UTC(2026, 2, 6, 13, 30) / 1000, hours)).toBe(false); // 08:30 EST
    expect(isWithinWorkingHours(Date.UTC(2026, 2, 9, 13, 30) / 1000, hours)).toBe(true); // 09:30 EDT
    expect(isWithinWorkingHours(Date.UTC(2026, 2, 6, 22, 30) / 1000, hours)).toBe(true); // 17:30 EST
    expect(isWithinWorkingHours(Date.UTC(2026, 2, 9, 22, 30) / 1000, hours)).toBe(false); // 18:30 EDT
  });
});

describe('broker keys', () => {
  test('every queue and its kombu priority lists 1..9', () => {
    const keys = brokerListKeys(['dataset', 'mail']);
    expect(keys).toHaveLength(20);
    expect(keys).toContain('dataset');
    expect(keys).toContain('mail\x06\x169');
    expect(keys).not.toContain('mail\x06\x160');
  });
});

const TOKEN = 'redis-auth-token-0123456789abcdefghijklmn';
const CLUSTER = 'dify-cluster';
const SERVICE = 'dify-backend';
const RELAY = 'dify-upload-relay';
const DIFY_SECRET = { name: 'dify-shared', arn: secretArn('dify-shared') };

describe('readSettings', () => {
  const env = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
    [ENVIRONMENT.cluster]: CLUSTER,
    [ENVIRONMENT.service]: SERVICE,
    [ENVIRONMENT.mode]: 'working-hours',
    [ENVIRONMENT.idleMinutes]: '30',
    [ENVIRONMENT.days]: 'MON-FRI',
    [ENVIRONMENT.start]: '09:00',
    [ENVIRONMENT.end]: '18:00',
    [ENVIRONMENT.timeZone]: 'Asia/Tokyo',
    [ENVIRONMENT.redisHost]: 'cache.example',
    [ENVIRONMENT.redisPort]: '6379',
    [ENVIRONMENT.redisTls]: 'true',
    [ENVIRONMENT.redisSecretArn]: DIFY_SECRET.arn,
    [ENVIRONMENT.redisSecretField]: 'redisAuthToken',
    [ENVIRONMENT.queues]: 'dataset,mail',
    [ENVIRONMENT.relayFunctionName]: RELAY,
    ...overrides,
  });

  test('reads every setting', () => {
    expect(readSettings(env())).toEqual({
      mode: 'working-hours',
      idleMinutes: 30,
      workingHours: TOKYO_HOURS,
      cluster: CLUSTER,
      service: SERVICE,
      redis: { host: 'cache.example', port: 6379, tls: true },
      secretArn: DIFY_SECRET.arn,
      secretField: 'redisAuthToken',
      queues: ['dataset', 'mail'],
      relayFunctionName: RELAY,
    });
    expect(readSettings(env({ [ENVIRONMENT.relayFunctionName]: undefined })).relayFunctionName).toBeUndefined();
  });

  test.each([
    [ENVIRONMENT.mode, 'off', /must be idle or working-hours/],
    [ENVIRONMENT.idleMinutes, 'ten', /whole number/],
    [ENVIRONMENT.redisPort, '70000', /TCP port/],
    [ENVIRONMENT.redisTls, 'yes', /true or false/],
    [ENVIRONMENT.days, 'WEEKDAYS', /not a day name/],
    [ENVIRONMENT.timeZone, 'Mars/Olympus', /time zone/i],
    [ENVIRONMENT.cluster, undefined, /BACKEND_CLUSTER is required/],
  ])('rejects %s=%s', (name, value, message) => {
    expect(() => readSettings(env({ [name]: value }))).toThrow(message);
  });
});

describe('handler against local stand-ins', () => {
  let redis: FakeRedis;
  let ecsServer: FakeEcs;
  let cloudWatchServer: FakeCloudWatch;
  let secretsServer: FakeSecretsManager;
  let logs: Array<Record<string, unknown>>;
  let nowMs: number;

  const clients = () => ({
    ecs: new ECSClient({ endpoint: ecsServer.endpoint, region: 'ap-northeast-1', credentials: fakeCredentials }),
    cloudWatch: new CloudWatchClient({
      endpoint: cloudWatchServer.endpoint,
      region: 'ap-northeast-1',
      credentials: fakeCredentials,
    }),
    secretsManager: new SecretsManagerClient({
      endpoint: secretsServer.endpoint,
      region: 'ap-northeast-1',
      credentials: fakeCredentials,
    }),
    now: () => nowMs,
    log: (line: Record<string, unknown>) => logs.push(line),
    redisConnectTimeoutMs: 1000,
  });

  const settings = (overrides: Partial<ControllerSettings> = {}): ControllerSettings => ({
    ...IDLE,
    cluster: CLUSTER,
    service: SERVICE,
    // Plain TCP to the stand-in; the synthesized template always sets TLS (test/stacks/backend-sleep.test.ts).
    redis: { host: redis.host, port: redis.port, tls: false },
    secretArn: DIFY_SECRET.arn,
    secretField: 'redisAuthToken',
    queues: ['dataset', 'mail', 'workflow_based_app_execution'],
    relayFunctionName: RELAY,
    ...overrides,
  });

  const updates = () => ecsServer.callsTo('UpdateService').map((call) => call.body);

  beforeEach(async () => {
    [redis, ecsServer, cloudWatchServer, secretsServer] = await Promise.all([
      startFakeRedis({ password: TOKEN }),
      startFakeEcs(),
      startFakeCloudWatch(),
      startFakeSecretsManager([
        { ...DIFY_SECRET, secretString: JSON.stringify({ secretKey: 'x', redisAuthToken: TOKEN }) },
      ]),
    ]);
    nowMs = EVENING_TOKYO * 1000;
    logs = [];
    ecsServer.services.set(SERVICE, {
      desiredCount: 1,
      runningCount: 1,
      pendingCount: 0,
      deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', updatedAt: EVENING_TOKYO - 86400 }],
    });
    redis.db(0).set(LAST_USE_KEY, String(EVENING_TOKYO - 45 * 60));
  });

  afterEach(async () => {
    await Promise.all([redis.close(), ecsServer.close(), cloudWatchServer.close(), secretsServer.close()]);
  });

  test('idle: authenticates, reads both databases, re-reads last-use, scales to 0 and logs one JSON line', async () => {
    const result = await runController(settings(), clients());
    expect(result).toMatchObject({ action: 'sleep', updated: true });
    expect(updates()).toEqual([{ cluster: CLUSTER, service: SERVICE, desiredCount: 0 }]);
    expect(ecsServer.services.get(SERVICE)?.desiredCount).toBe(0);

    expect(redis.commandsNamed('AUTH')[0].args).toEqual(['AUTH', TOKEN]);
    expect(redis.commandsNamed('GET').map((command) => [command.db, command.args[1]])).toEqual([
      [0, LAST_USE_KEY],
      [0, LAST_USE_KEY],
    ]);
    expect(redis.commandsNamed('HGETALL').map((command) => [command.db, command.args[1]])).toEqual([[0, RUNNING_KEY]]);
    const listed = redis.commandsNamed('LLEN');
    expect(listed.every((command) => command.db === 1)).toBe(true);
    expect(listed.map((command) => command.args[1])).toEqual(brokerListKeys(settings().queues));
    expect(redis.commandsNamed('HLEN').map((command) => [command.db, command.args[1]])).toEqual([
      [1, KOMBU_UNACKED_KEY],
    ]);

    const query = cloudWatchServer.calls[0].body;
    expect(query.EndTime).toBe(EVENING_TOKYO);
    expect(query.StartTime).toBe(EVENING_TOKYO - 30 * 60);
    expect(JSON.stringify(query.MetricDataQueries)).toContain(JSON.stringify({ Name: 'FunctionName', Value: RELAY }));

    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ controller: 'backend-sleep', action: 'sleep', updated: true, desiredCount: 1 });
    expect(JSON.parse(JSON.stringify(logs[0]))).toEqual(logs[0]);
  });

  test('busy in any one way: no UpdateService', async () => {
    const cases: Array<() => void> = [
      () => redis.db(0).set(LAST_USE_KEY, String(EVENING_TOKYO - 60)),
      () => redis.db(0).set(RUNNING_KEY, new Map([['ecs1:c1', `${EVENING_TOKYO - 120} tasks.mail_task`]])),
      () => redis.db(1).set('dataset', ['message']),
      () => redis.db(1).set(`mail${KOMBU_PRIORITY_SEPARATOR}6`, ['message']),
      () => redis.db(1).set(KOMBU_UNACKED_KEY, new Map([['tag', '{}']])),
      () => cloudWatchServer.invocations.set(RELAY, [0, 2, 0]),
    ];
    for (const makeBusy of cases) {
      redis.db(0).set(LAST_USE_KEY, String(EVENING_TOKYO - 45 * 60));
      redis.db(0).delete(RUNNING_KEY);
      redis.db(1).clear();
      cloudWatchServer.invocations.clear();
      makeBusy();
      const result = await runController(settings(), clients());
      expect(result).toMatchObject({ action: 'stay', updated: false });
    }
    expect(updates()).toEqual([]);
  });

  test('a request between the checks and the update: the re-read of last-use keeps it running', async () => {
    // The api writes last-use once the first pass is over (kombu's unacked hash is its last read).
    redis.beforeCommand = (command) => {
      if (command.args[0].toUpperCase() === 'HLEN') redis.db(0).set(LAST_USE_KEY, String(EVENING_TOKYO - 5));
    };
    const result = await runController(settings(), clients());
    expect(result.action).toBe('stay');
    expect(result.reasons[0]).toMatch(/re-checked last-use/);
    expect(result.reasons.join(' ')).toMatch(/last real request 0 min ago/);
    expect(updates()).toEqual([]);
  });

  test('Redis unreachable: stays awake and logs the error, never UpdateService', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const result = await runController(settings({ redis: { host: '127.0.0.1', port: closed, tls: false } }), clients());
    expect(result).toMatchObject({ action: 'stay', updated: false });
    expect(result.reasons.join(' ')).toMatch(/could not read Redis/);
    expect(logs[0].errors).toEqual([expect.stringMatching(/ECONNREFUSED/)]);
    expect(updates()).toEqual([]);
  });

  test('wrong AUTH token: stays awake', async () => {
    // The secret holds TOKEN; this stand-in expects another password.
    await redis.close();
    redis = await startFakeRedis({ password: 'another-token' });
    const result = await runController(settings(), clients());
    expect(result).toMatchObject({ action: 'stay', updated: false });
    expect(result.reasons.join(' ')).toMatch(/could not read Redis.*WRONGPASS/);
    expect(updates()).toEqual([]);
  });

  test('CloudWatch failing: stays awake', async () => {
    cloudWatchServer.failWith = 'AccessDenied';
    const result = await runController(settings(), clients());
    expect(result).toMatchObject({ action: 'stay', updated: false });
    expect(updates()).toEqual([]);
  });

  test('working hours: wakes a sleeping service inside the hours (desiredCount 1), leaves it alone outside', async () => {
    ecsServer.services.set(SERVICE, {
      desiredCount: 0,
      runningCount: 0,
      pendingCount: 0,
      deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED' }],
    });
    await expect(runController(settings({ mode: 'working-hours' }), clients())).resolves.toMatchObject({
      action: 'stay',
    });
    nowMs = NOON_TOKYO * 1000;
    await expect(runController(settings({ mode: 'working-hours' }), clients())).resolves.toMatchObject({
      action: 'wake',
      updated: true,
    });
    expect(updates()).toEqual([{ cluster: CLUSTER, service: SERVICE, desiredCount: 1 }]);
  });

  test('a deployment in progress or a missing service: no UpdateService', async () => {
    ecsServer.services.get(SERVICE)!.deployments = [{ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' }];
    await expect(runController(settings(), clients())).resolves.toMatchObject({ action: 'stay' });
    ecsServer.services.clear();
    await expect(runController(settings(), clients())).rejects.toThrow(/not found/);
    expect(logs.at(-1)).toMatchObject({ action: 'stay', error: expect.stringMatching(/MISSING/) });
    expect(updates()).toEqual([]);
  });
});

describe('the Redis stand-in', () => {
  test('also speaks RESP3 (HELLO 3 AUTH default <token>, maps) and refuses commands before AUTH', async () => {
    const redis = await startFakeRedis({ password: TOKEN });
    try {
      redis.db(0).set(RUNNING_KEY, new Map([['ecs1:c1', '1 tasks.x']]));
      const client = createClient({
        socket: { host: redis.host, port: redis.port, reconnectStrategy: false },
        password: TOKEN,
        RESP: 3,
      });
      client.on('error', () => undefined);
      await client.connect();
      expect(await client.hGetAll(RUNNING_KEY)).toEqual({ 'ecs1:c1': '1 tasks.x' });
      client.destroy();
      expect(redis.commandsNamed('HELLO')[0].args).toEqual(['HELLO', '3', 'AUTH', 'default', TOKEN]);

      const anonymous = createClient({
        socket: { host: redis.host, port: redis.port, reconnectStrategy: false },
        RESP: 2,
      });
      anonymous.on('error', () => undefined);
      await anonymous.connect();
      await expect(anonymous.get(LAST_USE_KEY)).rejects.toThrow(/NOAUTH/);
      anonymous.destroy();
    } finally {
      await redis.close();
    }
  });
});
