/**
 * Backend sleep controller (docs/adr/0018), run every 5 minutes by EventBridge: scales Dify's backend ECS service to
 * zero when nothing uses it, and, in working-hours mode, back to one when the hours begin. The decision itself is
 * in ./decision.ts; this file reads the ECS service, Dify's Redis and CloudWatch, and acts.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClient, type RedisClientType } from '@redis/client';
import {
  decide,
  parseDays,
  type Activity,
  type ObservedState,
  type QueuedMessages,
  type Reading,
  type ServiceState,
  type SleepDecision,
  type SleepMode,
  type SleepSettings,
} from './decision';
import { APP_DB, BROKER_DB, ENVIRONMENT, LAST_USE_KEY, RUNNING_KEY } from './environment';

export interface ControllerSettings extends SleepSettings {
  readonly cluster: string;
  readonly service: string;
  readonly redis: { readonly host: string; readonly port: number; readonly tls: boolean };
  readonly secretArn: string;
  readonly secretField: string;
  readonly queues: readonly string[];
  readonly relayFunctionName?: string;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new Error(`backend sleep: environment variable ${name} is required`);
  return value;
}

/** Reads and checks the settings the construct bakes into the function's environment. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): ControllerSettings {
  const mode = required(env, ENVIRONMENT.mode);
  if (mode !== 'idle' && mode !== 'working-hours') {
    throw new Error(`backend sleep: ${ENVIRONMENT.mode} must be idle or working-hours, got ${JSON.stringify(mode)}`);
  }
  const idleMinutes = Number(required(env, ENVIRONMENT.idleMinutes));
  if (!Number.isInteger(idleMinutes) || idleMinutes < 1) {
    throw new Error(`backend sleep: ${ENVIRONMENT.idleMinutes} must be a whole number of minutes`);
  }
  const port = Number(required(env, ENVIRONMENT.redisPort));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`backend sleep: ${ENVIRONMENT.redisPort} must be a TCP port`);
  }
  const tls = required(env, ENVIRONMENT.redisTls);
  if (tls !== 'true' && tls !== 'false')
    throw new Error(`backend sleep: ${ENVIRONMENT.redisTls} must be true or false`);
  const workingHours = {
    days: required(env, ENVIRONMENT.days),
    start: required(env, ENVIRONMENT.start),
    end: required(env, ENVIRONMENT.end),
    timeZone: required(env, ENVIRONMENT.timeZone),
  };
  parseDays(workingHours.days);
  new Intl.DateTimeFormat('en-US', { timeZone: workingHours.timeZone });
  const queues = required(env, ENVIRONMENT.queues)
    .split(',')
    .map((queue) => queue.trim())
    .filter((queue) => queue !== '');
  const relayFunctionName = env[ENVIRONMENT.relayFunctionName]?.trim();
  return {
    mode: mode as SleepMode,
    idleMinutes,
    workingHours,
    cluster: required(env, ENVIRONMENT.cluster),
    service: required(env, ENVIRONMENT.service),
    redis: { host: required(env, ENVIRONMENT.redisHost), port, tls: tls === 'true' },
    secretArn: required(env, ENVIRONMENT.redisSecretArn),
    secretField: required(env, ENVIRONMENT.redisSecretField),
    queues,
    ...(relayFunctionName ? { relayFunctionName } : {}),
  };
}

/**
 * kombu's Redis transport keeps a queue as a list named after it, plus one list per message priority other than 0:
 * `<queue>\x06\x16<priority>` (kombu/transport/redis.py, `Channel.sep` and `_q_for_pri`). Celery's default steps are
 * 0, 3, 6 and 9; every priority 1..9 is checked in case a task sets its own.
 */
export const KOMBU_PRIORITY_SEPARATOR = '\x06\x16';
/** kombu's hash of delivered, not yet acknowledged messages (kombu/transport/redis.py, `unacked_key`). */
export const KOMBU_UNACKED_KEY = 'unacked';

export function brokerListKeys(queues: readonly string[]): string[] {
  return queues.flatMap((queue) => [
    queue,
    ...Array.from({ length: 9 }, (_, index) => `${queue}${KOMBU_PRIORITY_SEPARATOR}${index + 1}`),
  ]);
}

/** Clients and clock the handler uses; tests point them at local stand-ins. */
export interface ControllerDependencies {
  readonly ecs: ECSClient;
  readonly cloudWatch: CloudWatchClient;
  readonly secretsManager: SecretsManagerClient;
  readonly now?: () => number;
  readonly log?: (line: Record<string, unknown>) => void;
  /** How long to wait for Redis to accept a connection. */
  readonly redisConnectTimeoutMs?: number;
}

export interface ControllerResult extends SleepDecision {
  /** True when UpdateService was sent. */
  readonly updated: boolean;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function settle<T>(work: () => Promise<T>): Promise<Reading<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

async function readService(ecs: ECSClient, settings: ControllerSettings): Promise<ServiceState> {
  const response = await ecs.send(
    new DescribeServicesCommand({ cluster: settings.cluster, services: [settings.service] }),
  );
  const service = response.services?.[0];
  if (service === undefined) {
    const reasons = (response.failures ?? []).map((failure) => failure.reason ?? 'unknown').join(', ') || 'none';
    throw new Error(`service ${settings.service} not found in cluster ${settings.cluster} (${reasons})`);
  }
  return {
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    deployments: (service.deployments ?? []).map((deployment) => ({
      status: deployment.status ?? 'UNKNOWN',
      ...(deployment.rolloutState ? { rolloutState: deployment.rolloutState } : {}),
      ...(deployment.updatedAt ? { updatedAtEpochSeconds: Math.floor(deployment.updatedAt.getTime() / 1000) } : {}),
    })),
  };
}

async function readAuthToken(secretsManager: SecretsManagerClient, settings: ControllerSettings): Promise<string> {
  const response = await secretsManager.send(new GetSecretValueCommand({ SecretId: settings.secretArn }));
  const parsed = JSON.parse(response.SecretString ?? '{}') as Record<string, unknown>;
  const token = parsed[settings.secretField];
  if (typeof token !== 'string' || token === '') {
    throw new Error(`secret field ${settings.secretField} is missing or empty`);
  }
  return token;
}

/** A client without modules, functions or scripts, speaking RESP2 (what createClient below returns; node-redis spells "none" as {}). */
type Redis = RedisClientType<{}, {}, {}, 2, {}>;

/**
 * Connects to Dify's Redis with AUTH over TLS (ElastiCache in-transit encryption; its certificate is signed by an
 * Amazon CA that Node.js trusts). RESP2 and `AUTH <token>`, the handshake Dify's own redis-py clients use against
 * the same cache. No reconnects: a run that cannot reach Redis stays awake and tries again in 5 minutes.
 */
async function connectRedis(settings: ControllerSettings, password: string, connectTimeout: number): Promise<Redis> {
  const common = {
    host: settings.redis.host,
    port: settings.redis.port,
    connectTimeout,
    reconnectStrategy: false as const,
  };
  const client = createClient({
    socket: settings.redis.tls ? { ...common, tls: true, servername: settings.redis.host } : { ...common, tls: false },
    password,
    RESP: 2,
    maintNotifications: 'disabled',
  });
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.destroy();
    throw lastError ?? error;
  }
  return client;
}

async function readLastUse(redis: Redis): Promise<string | undefined> {
  await redis.select(APP_DB);
  const value = await redis.get(LAST_USE_KEY);
  return value === null ? undefined : String(value);
}

async function readActivity(redis: Redis, settings: ControllerSettings): Promise<Activity> {
  const lastUse = await readLastUse(redis);
  const running = await redis.hGetAll(RUNNING_KEY);
  await redis.select(BROKER_DB);
  const keys = brokerListKeys(settings.queues);
  // Sent together: node-redis pipelines commands issued in the same tick.
  const lengths = await Promise.all(keys.map((key) => redis.lLen(key)));
  const unacked = await redis.hLen(KOMBU_UNACKED_KEY);
  const queued: QueuedMessages[] = keys
    .map((key, index) => ({ key, length: Number(lengths[index]) }))
    .filter((queue) => queue.length > 0);
  return {
    lastUse,
    runningTasks: Object.entries(running as Record<string, string>).map(([field, value]) => ({
      field,
      value: String(value),
    })),
    queued,
    unacked: Number(unacked),
  };
}

async function readRelayInvocations(
  cloudWatch: CloudWatchClient,
  functionName: string,
  idleMinutes: number,
  nowMs: number,
): Promise<number> {
  // AWS/Lambda Invocations (Lambda DG "Types of metrics for Lambda functions"), 1-minute sums over the idle window.
  const response = await cloudWatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(nowMs - idleMinutes * 60_000),
      EndTime: new Date(nowMs),
      MetricDataQueries: [
        {
          Id: 'relay',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Invocations',
              Dimensions: [{ Name: 'FunctionName', Value: functionName }],
            },
            Period: 60,
            Stat: 'Sum',
          },
          ReturnData: true,
        },
      ],
    }),
  );
  const result = response.MetricDataResults?.find((candidate) => candidate.Id === 'relay');
  return (result?.Values ?? []).reduce((sum, value) => sum + value, 0);
}

/** Runs one observation and, when the decision says so, changes the service's desired count. */
export async function runController(
  settings: ControllerSettings,
  dependencies: ControllerDependencies,
): Promise<ControllerResult> {
  const now = dependencies.now ?? Date.now;
  const log = dependencies.log ?? ((line) => console.log(JSON.stringify(line)));
  const startedMs = now();
  const base = {
    controller: 'backend-sleep',
    cluster: settings.cluster,
    service: settings.service,
    mode: settings.mode,
  };

  let service: ServiceState;
  try {
    service = await readService(dependencies.ecs, settings);
  } catch (error) {
    log({ ...base, action: 'stay', reasons: ['could not describe the service'], error: describeError(error) });
    throw error;
  }

  let redis: Redis | undefined;
  try {
    const [activity, relayInvocations] = await Promise.all([
      settle(async () => {
        const token = await readAuthToken(dependencies.secretsManager, settings);
        redis = await connectRedis(settings, token, dependencies.redisConnectTimeoutMs ?? 3000);
        return readActivity(redis, settings);
      }),
      settings.relayFunctionName === undefined
        ? Promise.resolve(undefined)
        : settle(() =>
            readRelayInvocations(dependencies.cloudWatch, settings.relayFunctionName!, settings.idleMinutes, startedMs),
          ),
    ]);
    const observed: ObservedState = {
      nowEpochSeconds: Math.floor(startedMs / 1000),
      service,
      activity,
      ...(relayInvocations ? { relayInvocations } : {}),
    };
    let decision = decide(observed, settings);
    const summary = {
      desiredCount: service.desiredCount,
      runningCount: service.runningCount,
      pendingCount: service.pendingCount,
      lastUse: activity.ok ? (activity.value.lastUse ?? null) : null,
      relayInvocations: relayInvocations?.ok ? relayInvocations.value : null,
    };

    if (decision.action === 'sleep' && activity.ok && redis !== undefined) {
      // A request may have arrived while the other checks ran: look at last-use once more just before acting.
      const connected: Redis = redis;
      const lastUse = await settle(() => readLastUse(connected));
      const recheck: ObservedState = {
        ...observed,
        nowEpochSeconds: Math.floor(now() / 1000),
        activity: lastUse.ok ? { ok: true, value: { ...activity.value, lastUse: lastUse.value } } : lastUse,
      };
      decision = decide(recheck, settings);
      if (decision.action !== 'sleep') {
        decision = { ...decision, reasons: ['re-checked last-use before scaling to 0', ...decision.reasons] };
      }
    }

    let updated = false;
    if (decision.action === 'sleep' || decision.action === 'wake') {
      const desiredCount = decision.action === 'sleep' ? 0 : 1;
      try {
        await dependencies.ecs.send(
          new UpdateServiceCommand({ cluster: settings.cluster, service: settings.service, desiredCount }),
        );
        updated = true;
      } catch (error) {
        log({ ...base, ...summary, ...decision, updated, error: describeError(error) });
        throw error;
      }
    }
    const errors = [activity, relayInvocations].flatMap((reading) => (reading && !reading.ok ? [reading.error] : []));
    log({ ...base, ...summary, ...decision, updated, ...(errors.length > 0 ? { errors } : {}) });
    return { ...decision, updated };
  } finally {
    const connected = redis as Redis | undefined;
    if (connected !== undefined) connected.destroy();
  }
}

let defaultDependencies: ControllerDependencies | undefined;

/** EventBridge scheduled event handler; the event carries nothing the controller needs. */
export async function handler(): Promise<ControllerResult> {
  defaultDependencies ??= {
    ecs: new ECSClient({}),
    cloudWatch: new CloudWatchClient({}),
    secretsManager: new SecretsManagerClient({}),
  };
  return runController(readSettings(), defaultDependencies);
}
