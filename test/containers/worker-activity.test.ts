/**
 * The Celery workers' running-task hook (functions/dify-backend-image/worker_activity.py) and the command that starts
 * them (lib/constructs/celery-worker-command.ts), run for real.
 *
 * Stood in (Celery, redis-py and Dify are not installable here; the hook is what is tested):
 * - `celery.signals`: Signal objects that call their receivers as Celery's do (`receiver(signal=, sender=, **named)`)
 *   but let a receiver's exception through, so a hook that raised would be seen.
 * - Dify's `celery_entrypoint` (its Celery app) and `extensions.ext_redis.redis_client` (a dict-backed HSET/HDEL/HKEYS
 *   that fails on demand).
 * - The ECS task metadata endpoint v4: a local HTTP server answering `/task` with a TaskARN.
 * - `celery` (the console script), for the command: a script that records its argv and environment.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import {
  CELERY_WORKER_COMMAND,
  CELERY_WORKER_EXPORTS,
  celeryWorkerEntrypoint,
} from '../../lib/constructs/celery-worker-command';
import { celeryProcessHealthCheck } from '../../lib/constructs/ecs-settings';
import { RUN_QUEUES, RUN_WORKER_CONCURRENCY } from '../../lib/constructs/backend-service';
import { hasReference, readReference } from '../support/reference';
import { repositoryRoot, runProcess } from './process-helpers';

const hookDirectory = join(repositoryRoot, 'functions', 'dify-backend-image');
const TASK_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

const SIGNALS_STAND_IN = `class Signal:
    def __init__(self, name):
        self.name, self.receivers = name, []
    def connect(self, receiver, weak=True, sender=None, dispatch_uid=None):
        self.receivers.append(receiver)
        return receiver
    def send(self, sender, **named):
        return [(r, r(signal=self, sender=sender, **named)) for r in self.receivers]
task_prerun = Signal('task_prerun')
task_postrun = Signal('task_postrun')
worker_ready = Signal('worker_ready')
`;

const REDIS_STAND_IN = `class Hashes:
    def __init__(self):
        self.data, self.fail = {}, False
    def _check(self):
        if self.fail:
            raise ConnectionError('stand-in Redis is down')
    def hset(self, key, field, value):
        self._check()
        self.data.setdefault(key, {})[field] = value
        return 1
    def hdel(self, key, *fields):
        self._check()
        found = [f for f in fields if f in self.data.get(key, {})]
        for f in found:
            del self.data[key][f]
        return len(found)
    def hkeys(self, key):
        self._check()
        return [f.encode() for f in self.data.get(key, {})]
redis_client = Hashes()
`;

const DRIVER = `
import json, logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='LOG %(levelname)s %(message)s')
import worker_activity
import celery_entrypoint
from celery import signals
from extensions.ext_redis import redis_client as redis

class Task:
    name = 'tasks.document_indexing_task'

def show(label):
    print(json.dumps({'step': label, 'running': dict(redis.data.get('dify-edge:running', {}))}))

print(json.dumps({'app': worker_activity.celery is celery_entrypoint.celery}))
redis.data['dify-edge:running'] = {'oldtask1:c-1': '1 tasks.left_behind', '%s:c-0' % sys.argv[1]: '2 tasks.mine'}
signals.worker_ready.send(sender='consumer')
show('ready')
signals.task_prerun.send(sender=Task(), task_id='c-2', task=Task(), args=(), kwargs={})
show('prerun')
signals.task_postrun.send(sender=Task(), task_id='c-2', task=Task(), args=(), kwargs={}, retval=None, state='SUCCESS')
show('postrun')
redis.fail = True
signals.task_prerun.send(sender=Task(), task_id='c-3', task=Task(), args=(), kwargs={})
signals.task_postrun.send(sender=Task(), task_id='c-3', task=Task(), args=(), kwargs={}, retval=None, state='FAILURE')
signals.worker_ready.send(sender='consumer')
redis.fail = False
show('redis down')
`;

let root: string;
let metadata: Server;
let metadataEndpoint: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'dify-edge-worker-'));
  const app = join(root, 'app', 'api');
  mkdirSync(join(app, 'celery'), { recursive: true });
  mkdirSync(join(app, 'extensions'), { recursive: true });
  writeFileSync(join(app, 'celery', '__init__.py'), '');
  writeFileSync(join(app, 'celery', 'signals.py'), SIGNALS_STAND_IN);
  writeFileSync(join(app, 'celery_entrypoint.py'), 'celery = object()  # Dify: from app import app, celery\n');
  writeFileSync(join(app, 'extensions', '__init__.py'), '');
  writeFileSync(join(app, 'extensions', 'ext_redis.py'), REDIS_STAND_IN);
  writeFileSync(join(root, 'driver.py'), DRIVER);
  metadata = createServer((request, response) => {
    if (request.url === '/v4/container-1/task') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ Cluster: 'dify', TaskARN: `arn:aws:ecs:ap-northeast-1:123456789012:task/dify/${TASK_ID}` }),
      );
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((done) => metadata.listen(0, '127.0.0.1', () => done()));
  metadataEndpoint = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}/v4/container-1`;
});

afterAll(async () => {
  await new Promise<void>((done) => metadata.close(() => done()));
  rmSync(root, { recursive: true, force: true });
});

interface DriverRun {
  readonly app: boolean;
  readonly steps: Record<string, Record<string, string>>;
  readonly logs: string[];
}

async function runDriver(env: Record<string, string>, ownId: string): Promise<DriverRun> {
  const result = await runProcess('python3', [join(root, 'driver.py'), ownId], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // As in the container: our directory on PYTHONPATH, the app's directory as the working directory (Celery imports
    // the -A module with the working directory on sys.path); here the driver runs from anywhere, so both are listed.
    PYTHONPATH: `${hookDirectory}:${join(root, 'app', 'api')}`,
    PYTHONDONTWRITEBYTECODE: '1',
    ...env,
  });
  if (result.code !== 0) throw new Error(`driver failed (${result.code}): ${result.stderr}${result.stdout}`);
  const lines = result.stdout.trim().split('\n');
  const json = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  const steps: Record<string, Record<string, string>> = {};
  for (const entry of json.slice(1)) steps[String(entry.step)] = entry.running as Record<string, string>;
  return { app: json[0].app === true, steps, logs: lines.filter((line) => line.startsWith('LOG ')) };
}

describe('worker_activity.py (the hook, with the stand-ins above)', () => {
  let run: DriverRun;
  beforeAll(async () => {
    run = await runDriver({ ECS_CONTAINER_METADATA_URI_V4: metadataEndpoint }, TASK_ID);
  });

  test("re-exports Dify's Celery app unchanged", () => {
    expect(run.app).toBe(true);
  });

  test("worker_ready removes other ECS tasks' fields and keeps this task's", () => {
    expect(run.steps.ready).toEqual({ [`${TASK_ID}:c-0`]: '2 tasks.mine' });
  });

  test('task_prerun sets <ecs-task-id>:<celery-task-id> to "<epoch seconds> <task name>"; task_postrun removes it', () => {
    const value = run.steps.prerun[`${TASK_ID}:c-2`];
    const [seconds, name] = value.split(' ');
    expect(name).toBe('tasks.document_indexing_task');
    expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(60);
    expect(run.steps.postrun).toEqual({ [`${TASK_ID}:c-0`]: '2 tasks.mine' });
  });

  test('a Redis error never reaches the task (the stand-in signals would raise it): it is logged', () => {
    expect(run.steps['redis down']).toEqual({ [`${TASK_ID}:c-0`]: '2 tasks.mine' });
    const warnings = run.logs.filter((line) => line.includes('stand-in Redis is down'));
    expect(warnings).toHaveLength(3);
  });

  test('without the metadata endpoint (not on ECS) the host name stands for the task id, and it says so', async () => {
    const hostname = (
      await runProcess('python3', ['-c', 'import socket; print(socket.gethostname())'], {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
      })
    ).stdout.trim();
    const local = await runDriver({}, hostname);
    expect(Object.keys(local.steps.prerun).sort()).toEqual([`${hostname}:c-0`, `${hostname}:c-2`]);
    expect(local.logs.join('\n')).toContain('ECS_CONTAINER_METADATA_URI_V4 is not set');
    expect(local.logs.join('\n')).toContain(`recorded under the host name ${hostname}`);
  });
});

/** A `celery` that writes its argv and a few variables to $STANDIN_OUT, then (optionally) stays up. */
const CELERY_STAND_IN = `#!/usr/bin/env python3
import json, os, sys, time
with open(os.environ['STANDIN_OUT'], 'w') as out:
    names = ('LANG', 'LC_ALL', 'PYTHONIOENCODING', 'PYTHONPATH')
    json.dump({'argv': sys.argv[1:], 'env': {k: os.environ.get(k) for k in names}}, out)
if os.environ.get('STANDIN_STAY') == '1':
    time.sleep(30)
`;

interface CeleryStart {
  readonly argv: string[];
  readonly env: Record<string, string | null>;
}

/** The run worker's own variables (lib/constructs/backend-service.ts, celeryWorker). */
const RUN_WORKER_ENV = {
  MODE: 'worker',
  CELERY_WORKER_CLASS: 'gevent',
  CELERY_AUTO_SCALE: 'false',
  CELERY_WORKER_AMOUNT: String(RUN_WORKER_CONCURRENCY),
  CELERY_WORKER_QUEUES: RUN_QUEUES.join(','),
};

describe('the worker command (bash, a stand-in celery on PATH)', () => {
  let bin: string;
  beforeAll(() => {
    bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'celery'), CELERY_STAND_IN);
    chmodSync(join(bin, 'celery'), 0o755);
  });

  async function start(script: string, env: Record<string, string>): Promise<CeleryStart> {
    const out = join(root, `celery-${Math.random().toString(36).slice(2)}.json`);
    const result = await runProcess('bash', ['-c', script], {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      STANDIN_OUT: out,
      ...env,
    });
    if (result.code !== 0) throw new Error(`start failed (${result.code}): ${result.stderr}`);
    return JSON.parse(readFileSync(out, 'utf8')) as CeleryStart;
  }

  const ourCommand = (): string =>
    celeryWorkerEntrypoint({ environment: {}, secrets: {}, templates: { CELERY_BROKER_URL: 'redis://x' } }).command[0];

  test("exports the templates and Dify's locale defaults, and puts /opt/dify-edge first on PYTHONPATH", async () => {
    const started = await start(ourCommand(), { ...RUN_WORKER_ENV, PYTHONPATH: '/image/path' });
    expect(started.env).toEqual({
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      PYTHONIOENCODING: 'utf-8',
      PYTHONPATH: '/opt/dify-edge:/image/path',
    });
    expect((await start(ourCommand(), RUN_WORKER_ENV)).env.PYTHONPATH).toBe('/opt/dify-edge');
    expect(Object.keys(CELERY_WORKER_EXPORTS)).toEqual(['LANG', 'LC_ALL', 'PYTHONIOENCODING', 'PYTHONPATH']);
  });

  test('starts `celery -A worker_activity.celery worker` with the flags of Dify 1.13.3 worker mode', async () => {
    expect((await start(ourCommand(), RUN_WORKER_ENV)).argv).toEqual([
      '-A',
      'worker_activity.celery',
      'worker',
      '-P',
      'gevent',
      '-c',
      String(RUN_WORKER_CONCURRENCY),
      '--max-tasks-per-child',
      '50',
      '--loglevel',
      'INFO',
      '-Q',
      'workflow_based_app_execution',
      '--prefetch-multiplier=1',
    ]);
  });

  const VARIANTS: Array<[string, Record<string, string>]> = [
    ['the backend task settings', {}],
    [
      'every override Dify reads',
      {
        LOG_LEVEL: 'DEBUG',
        MAX_TASKS_PER_CHILD: '7',
        CELERY_PREFETCH_MULTIPLIER: '4',
        CELERY_WORKER_POOL: 'solo',
        CELERY_WORKER_CONCURRENCY: '3',
      },
    ],
  ];
  const compare = hasReference ? test.each(VARIANTS) : test.skip.each(VARIANTS);
  compare('runs what the reference entrypoint runs in worker mode, but for the app (%s)', async (_name, extra) => {
    const reference = join(root, 'reference-entrypoint.sh');
    writeFileSync(reference, readReference('api/docker/entrypoint.sh'));
    const env = { ...RUN_WORKER_ENV, MIGRATION_ENABLED: 'false', ...extra };
    const dify = await start(`exec bash ${reference}`, env);
    const ours = await start(ourCommand(), env);
    expect(dify.argv.slice(0, 2)).toEqual(['-A', 'celery_entrypoint.celery']);
    expect(ours.argv.slice(0, 2)).toEqual(['-A', 'worker_activity.celery']);
    expect(ours.argv.slice(2)).toEqual(dify.argv.slice(2));
    expect(ours.env).toMatchObject({ LANG: dify.env.LANG, LC_ALL: dify.env.LC_ALL });
    expect(ours.env.PYTHONIOENCODING).toBe(dify.env.PYTHONIOENCODING);
  });

  test('the worker health check finds the process this command starts', async () => {
    const out = join(root, 'stay.json');
    const child = spawn('bash', ['-c', ourCommand()], {
      env: {
        PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        STANDIN_OUT: out,
        STANDIN_STAY: '1',
        ...RUN_WORKER_ENV,
      },
      stdio: 'ignore',
    });
    try {
      await new Promise((done) => setTimeout(done, 500));
      const check = celeryProcessHealthCheck('worker').command;
      const result = await runProcess('/bin/sh', ['-c', String(check[1])], {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
      });
      expect(result.code).toBe(0);
      expect(CELERY_WORKER_COMMAND.startsWith('celery ')).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
