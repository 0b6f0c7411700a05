import * as http from 'node:http';
import * as https from 'node:https';
import {
  BenchIo,
  COMMON_OPTIONS,
  Deadline,
  intOption,
  parseCommandArgs,
  requireString,
  secondsOption,
  stringOption,
  urlOption,
} from '../lib/context';
import { BenchError, describeNetworkError, errorCode } from '../lib/errors';
import { isServed, timedRequest } from '../lib/http';
import { BenchResult, buildResult, countError, Sample } from '../lib/result';

export const LATENCY_USAGE = `latency --url <URL> [--requests N] [--concurrency C] [--request-timeout S] [--time-limit S] [--out file.json]
  Warm latency distribution (time to first byte, total) and errors by status.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  url: { type: 'string' },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  'request-timeout': { type: 'string' },
} as const;

/** Network failures that mean "wrong URL", not "flaky service": abort at once instead of counting them N times. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export async function runLatency(argv: string[], io: BenchIo): Promise<BenchResult> {
  const command = 'latency';
  const { values } = parseCommandArgs(command, argv, OPTIONS);
  const url = urlOption(command, 'url', requireString(command, values, 'url'));
  const requests = intOption(command, values, 'requests', 50, 1, 100_000);
  const concurrency = intOption(command, values, 'concurrency', 1, 1, 256);
  const requestTimeoutMs = secondsOption(command, values, 'request-timeout', 30);
  const deadline = new Deadline(secondsOption(command, values, 'time-limit', 300));
  const progress = (text: string): void => io.stderr(`[latency] ${text}\n`);

  const agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = { ttfb: [], total: [] };
  const errors: Record<string, number> = {};
  const statusCounts: Record<string, number> = {};
  const recorded: Sample[] = [];
  let next = 0;
  let done = 0;
  let sawResponse = false;
  let unreachable: string | undefined;
  const step = Math.max(1, Math.ceil(requests / 10));

  const worker = async (): Promise<void> => {
    while (next < requests && !deadline.expired && unreachable === undefined) {
      const index = next;
      next += 1;
      try {
        const response = await timedRequest(url, { timeoutMs: requestTimeoutMs, agent });
        sawResponse = true;
        countError(statusCounts, String(response.status));
        recorded.push({ index, status: response.status, ttfbMs: response.ttfbMs, totalMs: response.totalMs });
        if (isServed(response.status)) {
          phases.ttfb.push(response.ttfbMs);
          phases.total.push(response.totalMs);
        } else {
          countError(errors, `HTTP ${response.status}`);
        }
      } catch (error) {
        const code = errorCode(error) ?? 'ERROR';
        if (!sawResponse && UNREACHABLE.has(code)) unreachable = describeNetworkError(url.href, error);
        recorded.push({ index, status: null, error: code, ttfbMs: null, totalMs: null });
        countError(errors, code);
      }
      done += 1;
      if (done % step === 0 || done === requests) progress(`${done}/${requests} requests`);
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, () => worker()));
  } finally {
    agent.destroy();
  }
  if (unreachable) throw new BenchError(unreachable);
  const stoppedEarly = done < requests && deadline.expired ? deadline.description : undefined;
  if (stoppedEarly) progress(`stopped early after ${done} requests: ${stoppedEarly}`);

  return buildResult({
    kind: 'latency',
    label: stringOption(values, 'label') ?? `latency ${url.host}`,
    target: url.href,
    startedAt,
    settings: { requests, concurrency, requestTimeoutMs, completed: done },
    statusCounts,
    phases,
    errors,
    samples: recorded.sort((a, b) => Number(a.index) - Number(b.index)),
    stoppedEarly,
    notes: [],
  });
}
