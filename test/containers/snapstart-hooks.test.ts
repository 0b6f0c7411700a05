/**
 * SnapStart hooks of the api image, run for real: the image's lambda-entrypoint.sh, secrets_loader.py, edge_app.py and
 * snapstart_app.py, started the way the image starts them (bash entry script → secrets loader → gunicorn loading
 * `edge_app:app` from the working directory /app/api). A stand-in plays the Lambda Web Adapter 1.1.0: it waits
 * for readiness, POSTs the before-checkpoint path, then the after-restore path, and treats a non-2xx as a failed phase
 * (aws-lambda-web-adapter PRs #837, #871).
 *
 * What is stood in, and why (Dify, gunicorn, SQLAlchemy and redis-py are not installable on this machine):
 * - `gunicorn`: a small Python script on PATH that parses the same flags and serves the `module:attr` target with
 *   wsgiref, after putting the working directory and --pythonpath first on sys.path as gunicorn does.
 * - Dify's `app:app`: a real Flask app. Its `extensions.ext_database.db.engine` and `extensions.ext_redis.redis_client`
 *   keep real TCP connections to two listeners of this test (standing in for PostgreSQL and Valkey) in pools with
 *   SQLAlchemy's `dispose()` and redis-py's `connection_pool.disconnect()` methods; `configs.dify_config` is a real
 *   pydantic-settings model, like Dify's. The listeners count open connections, so "closed" is observed from outside.
 * - A snapshot's cloned state: the stand-in app seeds `random` with a constant at import, so two processes start with
 *   identical generator state, as two environments restored from one snapshot would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretArn, startFakeSecretsManager, type FakeSecret, type FakeSecretsManager } from './fake-secrets-manager';
import { GUNICORN_STAND_IN } from './gunicorn-stand-in';
import { apiImageDirectory, firstTestPort, request, isolatedAwsEnvironment, removeDirectory } from './process-helpers';
import { hasReference, readReference } from '../support/reference';

const BEFORE_CHECKPOINT_PATH = '/_snapstart/before-checkpoint';
const AFTER_RESTORE_PATH = '/_snapstart/after-restore';
const siteUrlArn = secretArn('dify/site-url');

/** A TCP listener that counts the connections currently open to it. */
interface CountingListener {
  readonly port: number;
  open(): number;
  accepted(): number;
  close(): Promise<void>;
}

function startCountingListener(): Promise<CountingListener> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    // Consume what the pools send, or the socket stays paused and never sees the peer's FIN.
    socket.resume();
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => sockets.delete(socket));
  });
  return new Promise((done) => {
    server.listen(0, '127.0.0.1', () =>
      done({
        port: (server.address() as AddressInfo).port,
        open: () => sockets.size,
        accepted: () => accepted,
        close: () =>
          new Promise<void>((closed) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => closed());
          }),
      }),
    );
  });
}

const POOL_STAND_IN = `import os, socket
class Pool:
    """A pool of real TCP connections, kept open between requests like SQLAlchemy's QueuePool or redis-py's pool."""
    def __init__(self, port, fail_variable):
        self.port, self.fail_variable, self.idle = port, fail_variable, []
    def use(self):
        connection = self.idle.pop() if self.idle else socket.create_connection(('127.0.0.1', self.port))
        connection.sendall(b'ping')
        self.idle.append(connection)
        return len(self.idle)
    def close_all(self):
        if os.environ.get(self.fail_variable) == '1':
            raise RuntimeError('stand-in pool refused to close')
        while self.idle:
            self.idle.pop().close()
`;

const APP_STAND_IN = `import os, random
from flask import Flask, jsonify
from configs import dify_config
from extensions.ext_database import db
from extensions.ext_redis import redis_client
from extensions.ext_storage import storage
# Identical generator state in every process: what every environment restored from one snapshot shares.
random.seed(1234)
app = Flask(__name__)
app.config.from_mapping(dify_config.model_dump())
storage.init_app(app)
@app.get('/health')
def health():
    return jsonify(status='ok')
@app.get('/state')
def state():
    return jsonify(
        random=random.random(),
        db=db.engine.pool.use(),
        redis=redis_client.connection_pool.use(),
        config_url=dify_config.CONSOLE_WEB_URL,
        app_config_url=app.config['CONSOLE_WEB_URL'],
        environ_url=os.environ.get('CONSOLE_WEB_URL'),
        storage_generation=storage.generation,
    )
`;

const CONFIGS_STAND_IN = `from pydantic_settings import BaseSettings
class DifyConfig(BaseSettings):
    CONSOLE_WEB_URL: str = ''
    DB_PASSWORD: str = ''
dify_config = DifyConfig()
`;

const DATABASE_STAND_IN = `import os
from pool_stand_in import Pool
class Engine:
    def __init__(self):
        self.pool = Pool(int(os.environ['STANDIN_DB_PORT']), 'STANDIN_DB_FAIL')
    def dispose(self):
        self.pool.close_all()
class FlaskSQLAlchemyLike:
    def __init__(self):
        self.engine = Engine()
db = FlaskSQLAlchemyLike()
`;

const REDIS_STAND_IN = `import os
from pool_stand_in import Pool
class Pool2(Pool):
    def disconnect(self):
        self.close_all()
class Redis:
    def __init__(self):
        self.connection_pool = Pool2(int(os.environ['STANDIN_REDIS_PORT']), 'STANDIN_REDIS_FAIL')
class RedisClientWrapper:
    """Like Dify's wrapper: the real client sits in _client."""
    def __init__(self):
        self._client = Redis()
    def __getattr__(self, name):
        return getattr(self._client, name)
redis_client = RedisClientWrapper()
`;

const STORAGE_STAND_IN = `class Storage:
    generation = 0
    def init_app(self, app):
        self.generation += 1
storage = Storage()
`;

let root: string;
let apiDirectory: string;
let database: CountingListener;
let redis: CountingListener;
let secretsManager: FakeSecretsManager;
const secrets: FakeSecret[] = [];
const children: ChildProcess[] = [];

function setSiteUrl(url: string): void {
  secrets.splice(0, secrets.length, {
    name: 'dify/site-url',
    arn: siteUrlArn,
    secretString: JSON.stringify({ siteUrl: url }),
  });
  secrets.push({ name: 'dify/db', arn: secretArn('dify/db'), secretString: JSON.stringify({ password: 'pw-1' }) });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dify-edge-snapstart-'));
  apiDirectory = join(root, 'app', 'api');
  const binDirectory = join(root, 'bin');
  mkdirSync(join(apiDirectory, 'extensions'), { recursive: true });
  mkdirSync(join(apiDirectory, 'configs'), { recursive: true });
  mkdirSync(binDirectory);
  writeFileSync(join(binDirectory, 'gunicorn'), GUNICORN_STAND_IN);
  chmodSync(join(binDirectory, 'gunicorn'), 0o755);
  writeFileSync(join(apiDirectory, 'app.py'), APP_STAND_IN);
  writeFileSync(join(apiDirectory, 'pool_stand_in.py'), POOL_STAND_IN);
  writeFileSync(join(apiDirectory, 'configs', '__init__.py'), CONFIGS_STAND_IN);
  writeFileSync(join(apiDirectory, 'extensions', '__init__.py'), '');
  writeFileSync(join(apiDirectory, 'extensions', 'ext_database.py'), DATABASE_STAND_IN);
  writeFileSync(join(apiDirectory, 'extensions', 'ext_redis.py'), REDIS_STAND_IN);
  writeFileSync(join(apiDirectory, 'extensions', 'ext_storage.py'), STORAGE_STAND_IN);
  database = await startCountingListener();
  redis = await startCountingListener();
  setSiteUrl('');
  secretsManager = await startFakeSecretsManager(secrets);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([database.close(), redis.close(), secretsManager.close()]);
  removeDirectory(root);
});

interface StartedApi {
  readonly port: number;
  readonly argvFile: string;
  stderr(): string;
}

let nextPort = firstTestPort();

/** Starts the image's entry script like Lambda would (working directory /app/api, the function's environment). */
function startApi(extra: Record<string, string> = {}): StartedApi {
  const port = nextPort++;
  const argvFile = join(root, `argv-${port}.json`);
  const env: Record<string, string> = {
    ...isolatedAwsEnvironment(secretsManager.endpoint),
    PATH: `${join(root, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    DIFY_PORT: String(port),
    DIFY_BIND_ADDRESS: '127.0.0.1',
    AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH: BEFORE_CHECKPOINT_PATH,
    AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH: AFTER_RESTORE_PATH,
    DIFY_EDGE_SECRET_IDS: JSON.stringify({ site: siteUrlArn, db: 'dify/db' }),
    DIFY_EDGE_SECRETS: JSON.stringify({ CONSOLE_WEB_URL: 'site#siteUrl', DB_PASSWORD: 'db#password' }),
    STANDIN_DB_PORT: String(database.port),
    STANDIN_REDIS_PORT: String(redis.port),
    STANDIN_ARGV_FILE: argvFile,
    ...extra,
  };
  const child = spawn('bash', [join(apiImageDirectory, 'lambda-entrypoint.sh')], {
    cwd: apiDirectory,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.resume();
  return { port, argvFile, stderr: () => stderr };
}

interface State {
  random: number;
  db: number;
  redis: number;
  config_url: string;
  app_config_url: string;
  environ_url: string;
  storage_generation: number;
}

const state = async (port: number): Promise<State> => (await request(port, '/state')).body as State;

/** The adapter's part: readiness, then one hook phase; a non-2xx answer is a failed phase. */
class AdapterStandIn {
  constructor(private readonly api: StartedApi) {}

  async waitReady(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await request(this.api.port, '/health')).status === 200) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`api did not become ready: ${this.api.stderr()}`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  async phase(path: string): Promise<{ ok: boolean; body: unknown }> {
    const { status, body } = await request(this.api.port, path, 'POST');
    return { ok: status >= 200 && status < 300, body };
  }
}

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('api image SnapStart hooks (real entry script, loader and hook module; stand-ins listed above)', () => {
  test('before checkpoint closes the database and Redis pools; after restore they work, the site URL is fresh', async () => {
    const api = startApi();
    const adapter = new AdapterStandIn(api);
    await adapter.waitReady();

    // Init: Dify's start used both pools, and the site URL was still empty (the first deploy, docs/adr/0006).
    const atInit = await state(api.port);
    expect(atInit.config_url).toBe('');
    await eventually(() => database.open() >= 1 && redis.open() >= 1);
    const openBefore = database.open();

    const checkpoint = await adapter.phase(BEFORE_CHECKPOINT_PATH);
    expect(checkpoint).toMatchObject({ ok: true, body: { phase: 'before-checkpoint', ok: true } });
    await eventually(() => database.open() === openBefore - 1 && redis.open() === 0).catch((error: Error) => {
      throw new Error(
        `${error.message}: db ${database.open()}/${openBefore}, redis ${redis.open()}, ${JSON.stringify(checkpoint)}`,
      );
    });

    // The distribution now exists and the stack wrote the site URL; then Lambda restores the snapshot.
    setSiteUrl('https://d111111abcdef8.cloudfront.net');
    const acceptedBefore = database.accepted();
    const restore = await adapter.phase(AFTER_RESTORE_PATH);
    expect(restore).toMatchObject({ ok: true, body: { phase: 'after-restore', ok: true } });

    const restored = await state(api.port);
    // The pools reconnect on use: a new connection to each server.
    await eventually(() => database.accepted() === acceptedBefore + 1);
    expect(restored.db).toBe(1);
    expect(restored.redis).toBe(1);
    expect(restored).toMatchObject({
      config_url: 'https://d111111abcdef8.cloudfront.net',
      app_config_url: 'https://d111111abcdef8.cloudfront.net',
      environ_url: 'https://d111111abcdef8.cloudfront.net',
      storage_generation: atInit.storage_generation + 1,
    });
    // The hook log names what changed, never a value.
    await eventually(() => api.stderr().includes('after-restore done') && api.stderr().includes('CONSOLE_WEB_URL'));
    expect(api.stderr()).not.toContain('pw-1');
  });

  test('randomness differs between two environments restored from the same state', async () => {
    const first = startApi();
    const second = startApi();
    await Promise.all([new AdapterStandIn(first).waitReady(), new AdapterStandIn(second).waitReady()]);
    // Same seed at import: without the hook both would draw the same numbers (that is the snapshot problem).
    expect((await state(first.port)).random).toBe((await state(second.port)).random);

    expect((await new AdapterStandIn(first).phase(AFTER_RESTORE_PATH)).ok).toBe(true);
    expect((await new AdapterStandIn(second).phase(AFTER_RESTORE_PATH)).ok).toBe(true);
    expect((await state(first.port)).random).not.toBe((await state(second.port)).random);
  });

  test('a failing hook step fails the phase (non-2xx) and says which step', async () => {
    const api = startApi({ STANDIN_REDIS_FAIL: '1' });
    const adapter = new AdapterStandIn(api);
    await adapter.waitReady();
    const checkpoint = await adapter.phase(BEFORE_CHECKPOINT_PATH);
    expect(checkpoint.ok).toBe(false);
    expect(checkpoint.body).toMatchObject({ ok: false, steps: { redis: expect.stringContaining('failed') } });
    // The process writes its log line before it answers, but the pipe may deliver it after the HTTP answer.
    await eventually(() => api.stderr().includes('before-checkpoint step redis failed'));
  });

  test('a secret that can no longer be read fails the restore instead of serving stale settings', async () => {
    const api = startApi();
    const adapter = new AdapterStandIn(api);
    await adapter.waitReady();
    const saved = [...secrets];
    secrets.splice(0, secrets.length, { ...saved[0], denied: true }, saved[1]);
    try {
      const restore = await adapter.phase(AFTER_RESTORE_PATH);
      expect(restore.ok).toBe(false);
      expect(restore.body).toMatchObject({ steps: { settings: expect.stringContaining('AccessDenied') } });
    } finally {
      secrets.splice(0, secrets.length, ...saved);
    }
  });

  test('only an exact POST to a hook path runs it; lookalike paths go to Dify', async () => {
    const api = startApi();
    const adapter = new AdapterStandIn(api);
    await adapter.waitReady();
    await state(api.port);
    const openBefore = redis.open();
    expect((await request(api.port, BEFORE_CHECKPOINT_PATH, 'GET')).status).toBe(405);
    // (`//_snapstart/...` is not tried here: the stand-in's http.server folds a leading `//` into `/` itself, which
    // gunicorn does not; the edge blocks every spelling that routes to the prefix, test/edge.)
    for (const lookalike of [
      '/x/..' + BEFORE_CHECKPOINT_PATH,
      '/_snapstart/./before-checkpoint',
      BEFORE_CHECKPOINT_PATH + '/',
    ]) {
      expect({ lookalike, status: (await request(api.port, lookalike, 'POST')).status }).toEqual({
        lookalike,
        status: 404,
      });
    }
    // A checkpoint would have disconnected every Redis connection (see the checkpoint test). The stand-in app may
    // open another one meanwhile under load, so the count must not have dropped, rather than stay exactly equal.
    expect(redis.open()).toBeGreaterThan(0);
    expect(redis.open()).toBeGreaterThanOrEqual(openBefore);
  });

  test('gunicorn gets the flags and defaults of Dify 1.13.3 entrypoint, with the hook module as its target', async () => {
    const api = startApi();
    await new AdapterStandIn(api).waitReady();
    const argv = JSON.parse(readFileSync(api.argvFile, 'utf8')) as string[];
    expect(argv).toEqual([
      '--bind',
      `127.0.0.1:${api.port}`,
      '--workers',
      '1',
      '--worker-class',
      'gevent',
      '--worker-connections',
      '10',
      '--timeout',
      '200',
      '--pythonpath',
      apiImageDirectory,
      'edge_app:app',
    ]);
    if (hasReference) {
      const upstream = readReference('api/docker/entrypoint.sh');
      for (const flag of [
        '--bind "${DIFY_BIND_ADDRESS:-0.0.0.0}:${DIFY_PORT:-5001}"',
        '--workers ${SERVER_WORKER_AMOUNT:-1}',
        '--worker-class ${SERVER_WORKER_CLASS:-gevent}',
        '--worker-connections ${SERVER_WORKER_CONNECTIONS:-10}',
        '--timeout ${GUNICORN_TIMEOUT:-200}',
        'app:app',
      ]) {
        expect(upstream).toContain(flag);
      }
    }
  });
});
