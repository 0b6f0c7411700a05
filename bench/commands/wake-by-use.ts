import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { BenchIo, Deadline, sleep } from '../lib/context';
import { BenchError, callAws } from '../lib/errors';
import { timedRequest } from '../lib/http';
import { BenchResult, buildResult, Sample } from '../lib/result';
import { SseParser } from './stream';

/** The api's answer while the backend starts (functions/dify-api-image/backend_wake.py, docs/adr/0018). */
export const WAKING_CODE = 'backend_waking';

export interface WakeByUseSettings {
  readonly site: URL;
  readonly appKey: string;
  readonly inputs: Record<string, unknown>;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly deadline: Deadline;
  /** Observe the ECS service too (its running phase, and that it sleeps before the first request). */
  readonly ecs?: {
    readonly cluster: string;
    readonly service: string;
    readonly endpoint?: string;
    readonly region?: string;
  };
  readonly label?: string;
}

type Attempt =
  | { kind: 'waking'; status: number }
  | { kind: 'finished'; status: number }
  | { kind: 'failed'; status: number | null; detail: string };

/** One streaming workflow run: did the worker run it to `workflow_finished` with status succeeded? */
async function runWorkflow(endpoint: URL, settings: WakeByUseSettings, agent: http.Agent): Promise<Attempt> {
  const parser = new SseParser();
  let finished: string | undefined;
  let streamError: string | undefined;
  let response;
  try {
    response = await timedRequest(endpoint, {
      method: 'POST',
      timeoutMs: Math.min(settings.timeoutMs, 180_000),
      agent,
      keepBody: true,
      headers: {
        authorization: `Bearer ${settings.appKey}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify({ inputs: settings.inputs, response_mode: 'streaming', user: 'dify-edge-bench-wake' }),
      onData: (chunk) => {
        for (const raw of parser.push(chunk)) {
          let payload: Record<string, unknown> = {};
          try {
            const parsed: unknown = JSON.parse(raw.data);
            if (typeof parsed === 'object' && parsed !== null) payload = parsed as Record<string, unknown>;
          } catch {
            // `event: ping` carries no JSON.
          }
          if (payload.event === 'workflow_finished') {
            const data = (payload.data ?? {}) as Record<string, unknown>;
            finished = String(data.status ?? 'unknown');
          }
          if (payload.event === 'error') streamError ??= String(payload.message ?? payload.code ?? 'error event');
        }
      },
    });
  } catch (error) {
    return { kind: 'failed', status: null, detail: error instanceof Error ? error.message : String(error) };
  }
  if (response.status === 503 && response.body.includes(WAKING_CODE)) return { kind: 'waking', status: 503 };
  if (response.status !== 200) {
    return { kind: 'failed', status: response.status, detail: response.body.slice(0, 200) };
  }
  if (finished === 'succeeded') return { kind: 'finished', status: 200 };
  return {
    kind: 'failed',
    status: 200,
    detail:
      streamError ??
      (finished ? `workflow_finished with status ${finished}` : 'the stream ended without workflow_finished'),
  };
}

/**
 * Wake by use: the first real request after idle (a workflow run through the site) starts the backend; times until
 * the api stops answering "waking" (it reaches the plugin daemon), until the ECS task runs (with --cluster), and until
 * a run finishes on the worker. A workflow with an LLM node also proves that the plugin daemon serves the model plugin.
 */
export async function runWakeByUse(settings: WakeByUseSettings, io: BenchIo): Promise<BenchResult> {
  const progress = (text: string): void => io.stderr(`[wake] ${text}\n`);
  const endpoint = new URL(
    'v1/workflows/run',
    settings.site.href.endsWith('/') ? settings.site.href : `${settings.site.href}/`,
  );
  const agent =
    settings.site.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const ecs = settings.ecs
    ? new ECSClient({
        endpoint: settings.ecs.endpoint,
        region: settings.ecs.region ?? io.aws?.region,
        credentials: io.aws?.credentials,
      })
    : undefined;
  const describe = async (): Promise<{ desired: number; running: number }> => {
    if (!ecs || !settings.ecs) return { desired: -1, running: -1 };
    const { cluster, service } = settings.ecs;
    const output = await callAws('ecs:DescribeServices', `service ${service}`, settings.ecs.endpoint, () =>
      ecs.send(new DescribeServicesCommand({ cluster, services: [service] })),
    );
    const found = output.services?.[0];
    if (!found) throw new BenchError(`ecs:DescribeServices: service ${service} in cluster ${cluster} not found`);
    return { desired: found.desiredCount ?? 0, running: found.runningCount ?? 0 };
  };

  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = { 'first answer': [], 'daemon reachable': [], 'run finished': [] };
  if (ecs) phases['task running'] = [];
  const attempts: Sample[] = [];
  try {
    if (ecs) {
      const before = await describe();
      if (before.desired > 0 || before.running > 0) {
        throw new BenchError(
          `the backend service wants ${before.desired} and runs ${before.running} task(s): it is not asleep. Wait ` +
            'until the sleep controller scales it to 0 (backend.sleep.idleMinutes) and run again',
        );
      }
    }
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    let daemonMs: number | undefined;
    let runningMs: number | undefined;
    let finishedMs: number | undefined;
    let attempt = 0;
    while (finishedMs === undefined) {
      attempt += 1;
      const result = await runWorkflow(endpoint, settings, agent);
      const at = elapsed();
      attempts.push({
        sample: attempt,
        atMs: Math.round(at),
        status: result.status,
        outcome: result.kind,
        error: result.kind === 'failed' ? result.detail : null,
      });
      if (attempt === 1) {
        phases['first answer'].push(at);
        if (result.kind === 'finished') {
          throw new BenchError('the first run finished at once: the backend was awake, so nothing was woken');
        }
        progress(`first request answered after ${Math.round(at)} ms (${result.kind}, HTTP ${result.status ?? '-'})`);
      }
      if (daemonMs === undefined && result.kind !== 'waking' && result.status !== null) {
        daemonMs = at;
        progress(`the api reaches the plugin daemon after ${Math.round(at)} ms`);
      }
      if (result.kind === 'finished') {
        finishedMs = at;
        break;
      }
      if (result.kind === 'failed') progress(`attempt ${attempt}: ${result.detail}`);
      if (ecs && runningMs === undefined && (await describe()).running >= 1) {
        runningMs = elapsed();
        progress(`task running after ${Math.round(runningMs)} ms`);
      }
      if (elapsed() > settings.timeoutMs || settings.deadline.expired) {
        throw new BenchError(
          `no workflow run finished within ${Math.round(settings.timeoutMs / 1000)} s of the first request ` +
            `(${attempt} attempts; last: ${result.kind === 'failed' ? result.detail : result.kind})`,
        );
      }
      await sleep(settings.pollMs);
    }
    if (ecs && runningMs === undefined) runningMs = finishedMs;
    phases['daemon reachable'].push(daemonMs ?? finishedMs);
    phases['run finished'].push(finishedMs);
    if (runningMs !== undefined) phases['task running'].push(runningMs);
    progress(`a workflow run finished on the worker ${Math.round(finishedMs)} ms after the first request`);
  } finally {
    ecs?.destroy();
    agent.destroy();
  }
  return buildResult({
    kind: 'wake',
    label: settings.label ?? `wake by use ${settings.site.host}`,
    target: endpoint.href,
    startedAt,
    settings: {
      mode: 'by-use',
      url: settings.site.href,
      timeoutMs: settings.timeoutMs,
      pollMs: settings.pollMs,
      cluster: settings.ecs?.cluster ?? null,
      service: settings.ecs?.service ?? null,
    },
    phases,
    errors: {},
    samples: attempts,
    notes: [
      'One sample: the backend must be asleep before the first request. Run again after the sleep controller has ' +
        'scaled it to 0. A workflow with an LLM node also proves that the plugin daemon serves installed plugins.',
    ],
  });
}
