/**
 * The api image's backend-sleep middleware (functions/dify-api-image/backend_wake.py), run for real in two ways.
 *
 * 1. Through the image's start path: lambda-entrypoint.sh → secrets loader → gunicorn (stand-in, see
 *    gunicorn-stand-in.ts) loading `edge_app:app`, with real boto3 calling ECS. Stood in: Dify's `app:app` (a small
 *    Flask app with run and non-run routes), Dify's `extensions.ext_redis.redis_client` (an object that appends
 *    every call to a file and fails while a flag file exists: Redis itself is not what is tested), the plugin daemon
 *    (a TCP listener of this test, or none) and the ECS API (test/functions/fake-ecs-server.ts, reached through
 *    AWS_ENDPOINT_URL_ECS, which botocore honours since 1.31.57).
 * 2. In one Python process with a settable clock, for what takes 30 s of wall time: the per-process intervals of the
 *    Redis write and the wake call, the readiness cache (ready 30 s, not ready 3 s) and logging a Redis outage once.
 *    The daemon there is a real listening socket that is closed and reopened; the wake call is recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeEcs, type FakeEcs } from '../functions/fake-ecs-server';
import { GUNICORN_STAND_IN } from './gunicorn-stand-in';
import {
  apiImageDirectory,
  firstTestPort,
  request,
  isolatedAwsEnvironment,
  removeDirectory,
  runProcess,
} from './process-helpers';

const CLUSTER = 'dify-cluster-X1';
const SERVICE = 'dify-backend';
const WAKING_BODY = {
  code: 'backend_waking',
  message: "Dify's backend is starting after being idle. Try again in about a minute.",
  status: 503,
};

const APP_STAND_IN = `from flask import Flask, jsonify
app = Flask(__name__)
@app.get('/health')
def health():
    return jsonify(status='ok')
@app.post('/v1/chat-messages')
def chat():
    return jsonify(answer='from dify')
@app.post('/console/api/apps/<app_id>/workflows/draft/run')
def draft_run(app_id):
    return jsonify(run='from dify')
@app.get('/console/api/apps')
def apps():
    return jsonify(data=[])
@app.post('/console/api/apps')
def create_app():
    return jsonify(id='new')
`;

const REDIS_STAND_IN = `import json, os
class RedisClientWrapper:
    """Records every call; fails while the flag file exists (Redis down)."""
    def set(self, name, value, ex=None, **kwargs):
        with open(os.environ['STANDIN_REDIS_LOG'], 'a') as out:
            out.write(json.dumps(['set', name, value, ex]) + '\\n')
        if os.path.exists(os.environ['STANDIN_REDIS_FAIL_FILE']):
            raise ConnectionError('stand-in Redis is down')
        return True
redis_client = RedisClientWrapper()
`;

let root: string;
let apiDirectory: string;
let ecs: FakeEcs;
const children: ChildProcess[] = [];
let nextPort = firstTestPort();

/** A plugin daemon stand-in: accepts TCP connections and counts them. */
async function startDaemon(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** A port nothing listens on (connections are refused): a stopped backend. */
async function closedPort(): Promise<number> {
  const daemon = await startDaemon();
  await daemon.close();
  return daemon.port;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dify-edge-wake-'));
  apiDirectory = join(root, 'app', 'api');
  mkdirSync(join(apiDirectory, 'extensions'), { recursive: true });
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin', 'gunicorn'), GUNICORN_STAND_IN);
  chmodSync(join(root, 'bin', 'gunicorn'), 0o755);
  writeFileSync(join(apiDirectory, 'app.py'), APP_STAND_IN);
  writeFileSync(join(apiDirectory, 'extensions', '__init__.py'), '');
  writeFileSync(join(apiDirectory, 'extensions', 'ext_redis.py'), REDIS_STAND_IN);
  ecs = await startFakeEcs();
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await ecs.close();
  removeDirectory(root);
});

beforeEach(() => {
  ecs.calls.length = 0;
  ecs.services.set(SERVICE, { desiredCount: 0, runningCount: 0, pendingCount: 0, deployments: [] });
});

interface StartedApi {
  readonly port: number;
  readonly argvFile: string;
  readonly redisLog: string;
  readonly redisFailFile: string;
  stderr(): string;
}

function startApi(daemonPort: number, extra: Record<string, string> = {}): StartedApi {
  const port = nextPort++;
  const api = {
    port,
    argvFile: join(root, `argv-${port}.json`),
    redisLog: join(root, `redis-${port}.jsonl`),
    redisFailFile: join(root, `redis-${port}.fail`),
  };
  const child = spawn('bash', [join(apiImageDirectory, 'lambda-entrypoint.sh')], {
    cwd: apiDirectory,
    env: {
      ...isolatedAwsEnvironment('http://127.0.0.1:9'),
      AWS_ENDPOINT_URL_ECS: ecs.endpoint,
      PATH: `${join(root, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      DIFY_PORT: String(port),
      DIFY_BIND_ADDRESS: '127.0.0.1',
      DIFY_EDGE_WAKE: `${CLUSTER}/${SERVICE}`,
      PLUGIN_DAEMON_URL: `http://127.0.0.1:${daemonPort}`,
      STANDIN_ARGV_FILE: api.argvFile,
      STANDIN_REDIS_LOG: api.redisLog,
      STANDIN_REDIS_FAIL_FILE: api.redisFailFile,
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.resume();
  return { ...api, stderr: () => stderr };
}

/** Waits for the app like the adapter's readiness check: GET /health (which must never count as use). */
async function waitReady(api: StartedApi, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await request(api.port, '/health')).status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`api did not become ready: ${api.stderr()}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

function redisCalls(api: StartedApi): unknown[][] {
  if (!existsSync(api.redisLog)) return [];
  return readFileSync(api.redisLog, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown[]);
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('api image with DIFY_EDGE_WAKE (real entry script, edge_app and middleware, real boto3; stand-ins above)', () => {
  test('gunicorn loads edge_app:app when DIFY_EDGE_WAKE is set, even without SnapStart', async () => {
    const daemon = await startDaemon();
    try {
      const api = startApi(daemon.port);
      await waitReady(api);
      const argv = JSON.parse(readFileSync(api.argvFile, 'utf8')) as string[];
      expect(argv[argv.length - 1]).toBe('edge_app:app');
    } finally {
      await daemon.close();
    }
  });

  test('keep-warm GET /health is not use; a real request sets dify-edge:last-use once (EX 7 days)', async () => {
    const daemon = await startDaemon();
    try {
      const api = startApi(daemon.port);
      await waitReady(api);
      for (let i = 0; i < 3; i++) expect((await request(api.port, '/health')).status).toBe(200);
      expect(redisCalls(api)).toEqual([]);

      const before = Math.floor(Date.now() / 1000);
      expect((await request(api.port, '/console/api/apps')).body).toEqual({ data: [] });
      expect((await request(api.port, '/v1/chat-messages', 'POST')).body).toEqual({ answer: 'from dify' });
      const calls = redisCalls(api);
      // Once per 30 s per process: the second request did not write again.
      expect(calls).toHaveLength(1);
      const [operation, key, value, ex] = calls[0];
      expect([operation, key, ex]).toEqual(['set', 'dify-edge:last-use', 604800]);
      expect(Number(value)).toBeGreaterThanOrEqual(before);
      expect(Number(value)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    } finally {
      await daemon.close();
    }
  });

  test('daemon up: run endpoints reach Dify and ECS is never called', async () => {
    const daemon = await startDaemon();
    try {
      const api = startApi(daemon.port);
      await waitReady(api);
      expect(await request(api.port, '/v1/chat-messages', 'POST')).toMatchObject({
        status: 200,
        body: { answer: 'from dify' },
      });
      expect((await request(api.port, '/console/api/apps/a1/workflows/draft/run', 'POST')).status).toBe(200);
      expect(daemon.accepted()).toBeGreaterThanOrEqual(1);
      expect(ecs.calls).toEqual([]);
    } finally {
      await daemon.close();
    }
  });

  test('daemon down: one UpdateService desiredCount=1; run endpoints get 503 backend_waking; others pass', async () => {
    const api = startApi(await closedPort());
    await waitReady(api);

    const waking = await request(api.port, '/v1/chat-messages', 'POST');
    expect(waking.status).toBe(503);
    expect(waking.body).toEqual(WAKING_BODY);
    expect(waking.headers['retry-after']).toBe('30');
    expect(waking.headers['content-type']).toBe('application/json');
    await eventually(() => ecs.callsTo('UpdateService').length === 1);
    expect(ecs.callsTo('UpdateService')[0].body).toEqual({ cluster: CLUSTER, service: SERVICE, desiredCount: 1 });
    expect(ecs.services.get(SERVICE)?.desiredCount).toBe(1);

    // Still asleep: another run endpoint is answered the same way, without a second call within 30 s.
    const draft = await request(api.port, '/console/api/apps/a1/workflows/draft/run', 'POST');
    expect(draft).toMatchObject({ status: 503, body: WAKING_BODY });
    // Everything else goes to Dify unchanged, GET and POST.
    expect(await request(api.port, '/console/api/apps')).toMatchObject({ status: 200, body: { data: [] } });
    expect(await request(api.port, '/console/api/apps', 'POST')).toMatchObject({ status: 200, body: { id: 'new' } });
    // A GET with a run-like path is not a run.
    expect((await request(api.port, '/v1/chat-messages')).status).toBe(405);
    await new Promise((done) => setTimeout(done, 300));
    expect(ecs.callsTo('UpdateService')).toHaveLength(1);
    expect(ecs.calls.map((call) => call.operation)).toEqual(['UpdateService']);
    await eventually(() => api.stderr().includes(`asked ECS to start ${CLUSTER}/${SERVICE}`));
  });

  test('Redis down: the request is still served, and the failure is logged', async () => {
    const daemon = await startDaemon();
    try {
      const api = startApi(daemon.port);
      await waitReady(api);
      writeFileSync(api.redisFailFile, '');
      expect(await request(api.port, '/v1/chat-messages', 'POST')).toMatchObject({
        status: 200,
        body: { answer: 'from dify' },
      });
      expect(redisCalls(api)).toHaveLength(1);
      await eventually(() => api.stderr().includes('cannot record use in Redis'));
      expect(api.stderr()).toContain('cannot record use in Redis (ConnectionError: stand-in Redis is down)');
    } finally {
      await daemon.close();
    }
  });

  test('an ECS error is logged and does not change the 503 answer', async () => {
    ecs.services.delete(SERVICE);
    const api = startApi(await closedPort());
    await waitReady(api);
    expect(await request(api.port, '/v1/chat-messages', 'POST')).toMatchObject({ status: 503, body: WAKING_BODY });
    await eventually(() => api.stderr().includes('ServiceNotFoundException'));
    expect(api.stderr()).toContain(`UpdateService ${CLUSTER}/${SERVICE} desiredCount=1 failed`);
  });
});

/**
 * The clock-driven part, in one Python process. Each step prints one JSON line: what Dify saw, what Redis got,
 * which wake calls were made and what was logged.
 */
const DRIVER = `
import io, json, socket, sys, threading
sys.path.insert(0, sys.argv[1])
import backend_wake as bw

class Clock:
    now = 1000.0
    def __call__(self):
        return self.now
clock = Clock()

class Redis:
    def __init__(self):
        self.calls, self.fail = [], False
    def set(self, name, value, ex=None):
        self.calls.append([name, value, ex])
        if self.fail:
            raise ConnectionError('stand-in Redis is down')
redis = Redis()
wakes = []
log = io.StringIO()
sys.stderr = log

class Daemon:
    """A real listening socket on a fixed port, closed and reopened (the backend task stopping and starting)."""
    def __init__(self):
        probe = socket.socket()
        probe.bind(('127.0.0.1', 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server = None
    def up(self):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(('127.0.0.1', self.port))
        self.server.listen(64)
    def down(self):
        self.server.close()
        self.server = None
daemon = Daemon()
daemon.up()

served = []
def dify(environ, start_response):
    served.append(environ['REQUEST_METHOD'] + ' ' + environ['PATH_INFO'])
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'dify']

middleware = bw.BackendWake(
    dify,
    {'DIFY_EDGE_WAKE': 'c1/s1', 'PLUGIN_DAEMON_URL': 'http://127.0.0.1:%d' % daemon.port},
    wake=lambda cluster, service: wakes.append(cluster + '/' + service),
    redis_client=lambda: redis,
    clock=clock,
    wall_clock=lambda: 1767225600 + clock.now,
)

def step(label, at, method, path):
    clock.now = at
    answer = {}
    def start_response(status, headers):
        answer['status'] = int(status.split()[0])
    b''.join(middleware(dict(REQUEST_METHOD=method, PATH_INFO=path), start_response))
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(5)
    print(json.dumps({
        'step': label, 'status': answer['status'], 'served': len(served), 'redis': len(redis.calls),
        'lastUse': redis.calls[-1][1] if redis.calls else None, 'wakes': len(wakes),
        'logs': [line for line in log.getvalue().splitlines() if line],
    }))

step('keep-warm', 1000, 'GET', '/health')
step('first use', 1001, 'GET', '/console/api/apps')
step('use 29 s later', 1030, 'POST', '/v1/chat-messages')
step('use 30 s later', 1031, 'GET', '/console/api/apps')
redis.fail = True
step('redis down', 1062, 'GET', '/console/api/apps')
step('redis still down', 1093, 'GET', '/console/api/apps')
redis.fail = False
step('redis back', 1124, 'GET', '/console/api/apps')
daemon.down()
step('down, ready still cached', 1125, 'POST', '/v1/chat-messages')
step('down, cache expired', 1160, 'POST', '/v1/chat-messages')
step('down, 1 s later', 1161, 'POST', '/v1/completion-messages')
step('down, non-run', 1162, 'GET', '/console/api/apps')
step('down, 31 s later', 1191, 'POST', '/v1/workflows/run')
daemon.up()
step('up, not-ready still cached', 1192, 'POST', '/v1/chat-messages')
step('up, cache expired', 1195, 'POST', '/v1/chat-messages')
print(json.dumps({'runPaths': {p: bool(bw.RUN_PATH.match(p)) for p in sys.argv[2:]}}))
`;

const RUN_PATHS: Record<string, boolean> = {
  '/v1/chat-messages': true,
  '/v1/completion-messages': true,
  '/v1/workflows/run': true,
  '/api/chat-messages': true,
  '/api/completion-messages': true,
  '/api/workflows/run': true,
  '/console/api/apps/a1/chat-messages': true,
  '/console/api/apps/a1/completion-messages': true,
  '/console/api/apps/a1/advanced-chat/workflows/draft/run': true,
  '/console/api/apps/a1/workflows/draft/run': true,
  '/console/api/apps/a1/workflows/draft/nodes/n1/run': true,
  '/v1/chat-messages/t1/stop': false,
  '/v1/workflows/runs': false,
  '/console/api/apps': false,
  '/v1/parameters': false,
  '/files/upload': false,
  '/e/hook1/run': false,
  '/health': false,
};

describe('api middleware over time (one process, settable clock)', () => {
  let steps: Array<Record<string, unknown>>;
  let runPaths: Record<string, boolean>;
  const at = (label: string) => steps.find((entry) => entry.step === label) as Record<string, unknown>;

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'dify-edge-wake-driver-'));
    try {
      writeFileSync(join(directory, 'driver.py'), DRIVER);
      const result = await runProcess(
        'python3',
        [join(directory, 'driver.py'), apiImageDirectory, ...Object.keys(RUN_PATHS)],
        { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' },
      );
      if (result.code !== 0) throw new Error(`driver failed: ${result.stderr}`);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      runPaths = lines.pop()?.runPaths as Record<string, boolean>;
      steps = lines;
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('keep-warm is not use; use is written at most once per 30 s, with the epoch seconds', () => {
    expect(at('keep-warm')).toMatchObject({ status: 200, served: 1, redis: 0 });
    expect(at('first use')).toMatchObject({ status: 200, redis: 1, lastUse: String(1767225600 + 1001) });
    expect(at('use 29 s later')).toMatchObject({ status: 200, redis: 1 });
    expect(at('use 30 s later')).toMatchObject({ status: 200, redis: 2, lastUse: String(1767225600 + 1031) });
  });

  test('a Redis outage never fails a request and is logged once, and its end once', () => {
    expect(at('redis down')).toMatchObject({ status: 200, redis: 3 });
    expect(at('redis still down')).toMatchObject({ status: 200, redis: 4 });
    const logs = at('redis back').logs as string[];
    expect(logs.filter((line) => line.includes('cannot record use in Redis'))).toHaveLength(1);
    expect(logs.filter((line) => line.includes('works again'))).toHaveLength(1);
    expect(at('redis back')).toMatchObject({ status: 200, redis: 5 });
  });

  test('readiness is cached 30 s when up, 3 s when down; a wake at most once per 30 s; non-run passes', () => {
    // Up at 1001 (background probe of the first real request): cached until 1031, then re-probed at 1031 (up).
    expect(at('down, ready still cached')).toMatchObject({ status: 200, wakes: 0 });
    expect(at('down, cache expired')).toMatchObject({ status: 503, wakes: 1 });
    expect(at('down, 1 s later')).toMatchObject({ status: 503, wakes: 1 });
    expect(at('down, non-run')).toMatchObject({ status: 200, wakes: 1 });
    expect(at('down, 31 s later')).toMatchObject({ status: 503, wakes: 2 });
    expect(at('up, not-ready still cached')).toMatchObject({ status: 503, wakes: 2 });
    expect(at('up, cache expired')).toMatchObject({ status: 200, wakes: 2 });
  });

  test('run endpoints are the POST paths of chat, completion and workflow runs under /v1, /api and /console/api', () => {
    expect(runPaths).toEqual(RUN_PATHS);
  });
});
