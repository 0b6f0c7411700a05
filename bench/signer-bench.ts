/**
 * Micro-benchmark of the Lambda@Edge payload signer: time per request to decode and hash bodies of 1 KB, 100 KB
 * and 1 MB (the largest body Lambda@Edge passes to an origin-request function). Lambda@Edge bills per 1 ms and
 * adds this time to every upload's latency, so it should stay in the low milliseconds even at 1 MB.
 *
 *   npx tsx bench/signer-bench.ts [--iterations N]
 *
 * Numbers come from this machine's CPU, not a Lambda@Edge replica; compare sizes and versions, not absolute values.
 */
import { randomBytes } from 'node:crypto';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import { handler } from '../edge/payload-signer';

export interface BodySize {
  label: string;
  bytes: number;
}

export const BENCH_BODY_SIZES: readonly BodySize[] = [
  { label: '1 KB', bytes: 1024 },
  { label: '100 KB', bytes: 100 * 1024 },
  { label: '1 MB', bytes: 1024 * 1024 },
];

export const DEFAULT_ITERATIONS = 200;

export interface SignerBenchRow {
  label: string;
  bytes: number;
  iterations: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface SignerBenchOptions {
  iterations: number;
  warmupIterations?: number;
  sizes?: readonly BodySize[];
}

function originRequestEventWithBody(base64Body: string): CloudFrontRequestEvent {
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'origin-request',
            requestId: 'bench',
          },
          request: {
            clientIp: '203.0.113.178',
            method: 'POST',
            uri: '/console/api/files/upload',
            querystring: '',
            headers: {
              host: [{ key: 'Host', value: 'bench.lambda-url.us-east-1.on.aws' }],
              authorization: [{ key: 'Authorization', value: 'Bearer bench-token' }],
              'content-type': [{ key: 'Content-Type', value: 'application/octet-stream' }],
            },
            body: { action: 'read-only', data: base64Body, encoding: 'base64', inputTruncated: false },
          },
        },
      },
    ],
  };
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sortedMs: number[], fraction: number): number {
  const rank = Math.ceil(fraction * sortedMs.length);
  return sortedMs[Math.min(sortedMs.length - 1, Math.max(0, rank - 1))];
}

async function timeOneRequest(base64Body: string): Promise<number> {
  // A fresh event per call: the handler rewrites headers in place, as Lambda@Edge allows.
  const event = originRequestEventWithBody(base64Body);
  const started = process.hrtime.bigint();
  await handler(event);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function runSignerBenchmark(options: SignerBenchOptions): Promise<SignerBenchRow[]> {
  const { iterations } = options;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`iterations must be a positive integer, got ${String(iterations)}`);
  }
  const warmupIterations = options.warmupIterations ?? Math.min(50, iterations);
  const rows: SignerBenchRow[] = [];
  for (const size of options.sizes ?? BENCH_BODY_SIZES) {
    const base64Body = randomBytes(size.bytes).toString('base64');
    for (let i = 0; i < warmupIterations; i++) await timeOneRequest(base64Body);
    const samplesMs: number[] = [];
    for (let i = 0; i < iterations; i++) samplesMs.push(await timeOneRequest(base64Body));
    samplesMs.sort((a, b) => a - b);
    rows.push({
      label: size.label,
      bytes: size.bytes,
      iterations,
      meanMs: samplesMs.reduce((sum, ms) => sum + ms, 0) / samplesMs.length,
      p50Ms: percentile(samplesMs, 0.5),
      p95Ms: percentile(samplesMs, 0.95),
      maxMs: samplesMs[samplesMs.length - 1],
    });
  }
  return rows;
}

export function formatBenchTable(rows: readonly SignerBenchRow[]): string {
  const header = ['body', 'iterations', 'mean ms', 'p50 ms', 'p95 ms', 'max ms'];
  const lines = rows.map((row) => [
    row.label,
    String(row.iterations),
    row.meanMs.toFixed(3),
    row.p50Ms.toFixed(3),
    row.p95Ms.toFixed(3),
    row.maxMs.toFixed(3),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const render = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join('  ');
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...lines.map(render)].join('\n');
}

/** Reads `--iterations N` or `--iterations=N`; anything else on the command line is an error. */
export function parseIterations(argv: readonly string[]): number {
  let raw: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--iterations') {
      raw = argv[++i] ?? '';
    } else if (arg.startsWith('--iterations=')) {
      raw = arg.slice('--iterations='.length);
    } else {
      throw new Error(`unknown argument "${arg}" (usage: signer-bench.ts [--iterations N])`);
    }
  }
  if (raw === undefined) return DEFAULT_ITERATIONS;
  const iterations = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`--iterations needs a positive integer, got "${raw}"`);
  }
  return iterations;
}

async function main(): Promise<void> {
  let iterations: number;
  try {
    iterations = parseIterations(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const rows = await runSignerBenchmark({ iterations });
  console.log(`payload signer, node ${process.version}, ${iterations} iterations per size after warm-up`);
  console.log(formatBenchTable(rows));
}

if (require.main === module) {
  void main();
}
