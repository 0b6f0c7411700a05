import { performance } from 'node:perf_hooks';
import { DescribeServicesCommand, ECSClient, Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  AWS_OPTIONS,
  BenchIo,
  COMMON_OPTIONS,
  Deadline,
  intOption,
  parseCommandArgs,
  ParsedValues,
  requireString,
  secondsOption,
  sleep,
  stringOption,
  urlOption,
} from '../lib/context';
import { BenchError, BenchUsageError, callAws } from '../lib/errors';
import { timedRequest } from '../lib/http';
import { BenchResult, buildResult, Sample } from '../lib/result';
import { runWakeByUse } from './wake-by-use';

function wakeByUse(values: ParsedValues, io: BenchIo): Promise<BenchResult> {
  const command = 'wake';
  const site = urlOption(command, 'url', requireString(command, values, 'url'));
  const appKey = requireString(command, values, 'app-key');
  const cluster = stringOption(values, 'cluster');
  const service = stringOption(values, 'service');
  if ((cluster === undefined) !== (service === undefined)) {
    throw new BenchUsageError('wake: --cluster and --service go together (or leave both out)');
  }
  for (const name of ['restore', 'samples']) {
    if (values[name] !== undefined) {
      throw new BenchUsageError(
        `wake: --${name} does not apply with --app-key (one sample: the backend must sleep first)`,
      );
    }
  }
  let inputs: Record<string, unknown> = {};
  const rawInputs = stringOption(values, 'inputs');
  if (rawInputs !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawInputs);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new BenchUsageError(`wake: --inputs must be a JSON object, got '${rawInputs}'`);
    }
    inputs = parsed as Record<string, unknown>;
  }
  const endpoint = stringOption(values, 'endpoint-url');
  if (endpoint !== undefined) urlOption(command, 'endpoint-url', endpoint);
  return runWakeByUse(
    {
      site,
      appKey,
      inputs,
      // Fargate pulls the images and starts five containers; the plugin daemon then starts every plugin.
      timeoutMs: secondsOption(command, values, 'timeout', 600),
      pollMs: intOption(command, values, 'poll-ms', 5000, 10, 60_000),
      deadline: new Deadline(secondsOption(command, values, 'time-limit', 3600)),
      ...(cluster !== undefined && service !== undefined
        ? { ecs: { cluster, service, endpoint, region: stringOption(values, 'region') } }
        : {}),
      label: stringOption(values, 'label'),
    },
    io,
  );
}

export const WAKE_USAGE = `wake --cluster <name|ARN> --service <name|ARN> [--timeout S] [--restore] [--samples N] [--url URL]
     [--endpoint-url URL] [--region R] [--poll-ms MS] [--time-limit S] [--out file.json]
  Scales an ECS service from 0 to 1 task and times until it runs and its deployment is COMPLETED
  (and, with --url, until that URL answers without a 5xx). --restore scales it back to 0 afterwards.
wake --url <site URL> --app-key <workflow app API key> [--inputs JSON] [--cluster C --service S] [--timeout S] [--poll-ms MS]
  Wake by use (backend.sleep): while the backend sleeps, runs the workflow app through the site as a user would and
  times the first answer, until the api reaches the plugin daemon, until the task runs (with --cluster/--service)
  and until a run finishes on the worker. Use a workflow with an LLM node to prove the plugins are served too.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...AWS_OPTIONS,
  cluster: { type: 'string' },
  service: { type: 'string' },
  timeout: { type: 'string' },
  restore: { type: 'boolean' },
  samples: { type: 'string' },
  url: { type: 'string' },
  'app-key': { type: 'string' },
  inputs: { type: 'string' },
} as const;

export async function runWake(argv: string[], io: BenchIo): Promise<BenchResult> {
  const command = 'wake';
  const { values } = parseCommandArgs(command, argv, OPTIONS);
  if (stringOption(values, 'app-key') !== undefined) return wakeByUse(values, io);
  const cluster = requireString(command, values, 'cluster');
  const serviceName = requireString(command, values, 'service');
  // Fargate pulls Dify's ~1 GB images on every start; ten minutes covers a slow pull plus health checks.
  const timeoutMs = secondsOption(command, values, 'timeout', 600);
  const restore = values.restore === true;
  const samples = intOption(command, values, 'samples', 1, 1, 50);
  if (samples > 1 && !restore) {
    throw new BenchUsageError('wake: --samples above 1 needs --restore (each sample must start from 0 tasks)');
  }
  const pollMs = intOption(command, values, 'poll-ms', 5000, 10, 60_000);
  const readyUrl =
    stringOption(values, 'url') === undefined ? undefined : urlOption(command, 'url', String(values.url));
  const deadline = new Deadline(secondsOption(command, values, 'time-limit', 3600));
  const endpoint = stringOption(values, 'endpoint-url');
  if (endpoint !== undefined) urlOption(command, 'endpoint-url', endpoint);
  const resource = `service ${serviceName} in cluster ${cluster}`;
  const progress = (text: string): void => io.stderr(`[wake] ${text}\n`);

  const ecs = new ECSClient({
    endpoint,
    region: stringOption(values, 'region') ?? io.aws?.region,
    credentials: io.aws?.credentials,
  });
  const describe = async (): Promise<Service> => {
    const output = await callAws('ecs:DescribeServices', resource, endpoint, () =>
      ecs.send(new DescribeServicesCommand({ cluster, services: [serviceName] })),
    );
    const service = output.services?.[0];
    if (!service) {
      const reason = output.failures?.[0]?.reason ?? 'not returned';
      throw new BenchError(`ecs:DescribeServices: ${resource} not found (${reason})`);
    }
    return service;
  };
  const setDesired = (desiredCount: number): Promise<unknown> =>
    callAws('ecs:UpdateService', resource, endpoint, () =>
      ecs.send(new UpdateServiceCommand({ cluster, service: serviceName, desiredCount })),
    );

  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = { running: [], completed: [] };
  if (readyUrl) phases.ready = [];
  const recorded: Sample[] = [];
  let stoppedEarly: string | undefined;
  let scaledUp = false;

  try {
    const initial = await describe();
    if ((initial.desiredCount ?? 0) > 0 || (initial.runningCount ?? 0) > 0) {
      throw new BenchError(
        `${resource} already wants ${initial.desiredCount ?? 0} and runs ${initial.runningCount ?? 0} task(s): ` +
          'that is not a cold start; scale it to 0 first',
      );
    }
    for (let sample = 1; sample <= samples; sample += 1) {
      if (deadline.expired) {
        stoppedEarly = deadline.description;
        break;
      }
      progress(`sample ${sample}/${samples}: scaling ${serviceName} to 1 task`);
      const started = performance.now();
      await setDesired(1);
      scaledUp = true;
      const elapsed = (): number => performance.now() - started;
      let runningMs: number | undefined;
      let completedMs: number | undefined;
      while (completedMs === undefined) {
        if (elapsed() > timeoutMs || deadline.expired) {
          throw new BenchError(`${resource} did not finish starting within ${seconds(timeoutMs)}`);
        }
        const service = await describe();
        const primary = service.deployments?.find((deployment) => deployment.status === 'PRIMARY');
        if (primary?.rolloutState === 'FAILED') {
          throw new BenchError(`${resource}: deployment failed: ${primary.rolloutStateReason ?? 'no reason given'}`);
        }
        if (runningMs === undefined && (service.runningCount ?? 0) >= 1) {
          runningMs = elapsed();
          progress(`sample ${sample}/${samples}: task running after ${Math.round(runningMs)} ms`);
        }
        // A desiredCount-only update starts no new deployment, so COMPLETED alone may be stale: require the task too.
        const primaryDone =
          primary === undefined ||
          ((primary.rolloutState === undefined || primary.rolloutState === 'COMPLETED') &&
            (primary.runningCount ?? 0) >= 1);
        if (runningMs !== undefined && primaryDone && (service.pendingCount ?? 0) === 0) {
          completedMs = elapsed();
          break;
        }
        await sleep(pollMs);
      }
      let readyMs: number | undefined;
      if (readyUrl) readyMs = await waitForUrl(readyUrl, elapsed, timeoutMs, pollMs, resource);
      phases.running.push(runningMs ?? completedMs);
      phases.completed.push(completedMs);
      if (readyMs !== undefined) phases.ready.push(readyMs);
      recorded.push({ sample, runningMs: runningMs ?? completedMs, completedMs, readyMs: readyMs ?? null });
      progress(`sample ${sample}/${samples}: deployment completed after ${Math.round(completedMs)} ms`);

      if (restore) {
        progress(`sample ${sample}/${samples}: scaling back to 0`);
        await setDesired(0);
        scaledUp = false;
        // Only the next sample needs the old task gone; after the last one there is nothing to wait for.
        if (sample < samples) await waitForZero(describe, timeoutMs, pollMs, resource);
      }
    }
  } finally {
    if (restore && scaledUp) {
      progress('restoring desired count 0 after the failure');
      await setDesired(0).catch((error: unknown) =>
        progress(`could not restore desired count 0: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    ecs.destroy();
  }
  if (stoppedEarly) progress(`stopped early: ${stoppedEarly}`);

  return buildResult({
    kind: 'wake',
    label: stringOption(values, 'label') ?? `wake ${serviceName}`,
    target: `${cluster}/${serviceName}`,
    startedAt,
    settings: { cluster, service: serviceName, samples, restore, timeoutMs, readyUrl: readyUrl?.href ?? null },
    phases,
    errors: {},
    samples: recorded,
    stoppedEarly,
    notes: restore ? [] : [`${serviceName} was left running with 1 task (no --restore).`],
  });
}

async function waitForZero(describe: () => Promise<Service>, timeoutMs: number, pollMs: number, resource: string) {
  const started = performance.now();
  for (;;) {
    const service = await describe();
    if ((service.runningCount ?? 0) === 0 && (service.pendingCount ?? 0) === 0) return;
    if (performance.now() - started > timeoutMs) {
      throw new BenchError(`${resource} still runs tasks ${seconds(timeoutMs)} after scaling to 0`);
    }
    await sleep(pollMs);
  }
}

/** Task RUNNING is not "serving": the app still boots. Any answer below 500 means it is up. */
async function waitForUrl(
  url: URL,
  elapsed: () => number,
  timeoutMs: number,
  pollMs: number,
  resource: string,
): Promise<number> {
  for (;;) {
    try {
      const response = await timedRequest(url, { timeoutMs: Math.min(10_000, timeoutMs) });
      if (response.status < 500) return elapsed();
    } catch {
      // Not listening yet: keep polling until the timeout.
    }
    if (elapsed() > timeoutMs) throw new BenchError(`${url.href} did not answer for ${resource} within the timeout`);
    await sleep(pollMs);
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
