/**
 * Runs the worker and beat health checks exactly as the synthesized task definition gives them to ECS (CMD-SHELL:
 * `/bin/sh -c <command>`), with and without a Celery process of each kind running, so a check that finds itself
 * (and so can never fail) or finds nothing is caught.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  container,
  containersOf,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
} from '../stacks/template-helpers';
import { runProcess } from './process-helpers';

let directory: string;
const running: ChildProcess[] = [];

beforeAll(() => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-celery-'));
  // Stands in for the `celery` console script: its command line is `python3 <dir>/celery -A <app> worker|beat ...`,
  // like the real one's `python <venv>/bin/celery -A celery_entrypoint.celery worker -P gevent ...`.
  fs.writeFileSync(path.join(directory, 'celery'), '#!/usr/bin/env python3\nimport time\ntime.sleep(30)\n', {
    mode: 0o755,
  });
});

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  fs.rmSync(directory, { recursive: true, force: true });
  removeSynthOutputs();
});

/** Starts a fake Celery process whose command line ends in `kind`; resolves once it is visible in /proc. */
async function startCelery(kind: string): Promise<ChildProcess> {
  const child = spawn(path.join(directory, 'celery'), ['-A', 'app.celery', kind, '--loglevel', 'INFO'], {
    stdio: 'ignore',
  });
  running.push(child);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const closed = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await closed;
}

const { regional } = synthTemplates();
const backendTask = resourcesOfType(regional, 'AWS::ECS::TaskDefinition')
  .map(([, task]) => task)
  .find((task) => containersOf(task).some((c) => c.Name === 'beat'));

function healthCommand(name: string): string {
  if (!backendTask) throw new Error('no backend task definition');
  const check = container(backendTask, name).HealthCheck?.Command ?? [];
  expect(check[0]).toBe('CMD-SHELL');
  return String(check[1]);
}

async function runCheck(name: string): Promise<number | null> {
  const result = await runProcess('/bin/sh', ['-c', healthCommand(name)], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  });
  return result.code;
}

describe.each([
  ['worker', 'worker'],
  ['run-worker', 'worker'],
  ['beat', 'beat'],
])('%s health check', (name, kind) => {
  const other = kind === 'worker' ? 'beat' : 'worker';

  test('fails while no Celery process of its kind runs (its own command line does not count)', async () => {
    expect(await runCheck(name)).toBe(1);
  });

  test(`fails when only a Celery ${other} runs`, async () => {
    const child = await startCelery(other);
    try {
      expect(await runCheck(name)).toBe(1);
    } finally {
      await stop(child);
    }
  });

  test(`passes while a Celery ${kind} runs, and fails again once it is gone`, async () => {
    const child = await startCelery(kind);
    expect(await runCheck(name)).toBe(0);
    await stop(child);
    expect(await runCheck(name)).toBe(1);
  });
});
