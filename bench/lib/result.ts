import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchError } from './errors';
import { PhaseSummary, summarize } from './stats';

export const RESULT_KINDS = ['cold-start', 'latency', 'stream', 'wake', 'upload'] as const;
export type BenchKind = (typeof RESULT_KINDS)[number];

export type SampleValue = string | number | boolean | null;
export type Sample = Record<string, SampleValue>;

/** What every command writes with --out and what `compare` reads. Durations are milliseconds. */
export interface BenchResult {
  tool: 'dify-edge-bench';
  formatVersion: 1;
  kind: BenchKind;
  /** Short name for reports (defaults to the kind and host). */
  label: string;
  /** What was measured: a URL, a function, or cluster/service. */
  target: string;
  startedAt: string;
  finishedAt: string;
  settings: Record<string, SampleValue>;
  /** Raw durations per phase (ms), successful measurements only. */
  phases: Record<string, number[]>;
  summary: Record<string, PhaseSummary>;
  /** Failed measurements by HTTP status ("HTTP 502") or network error code. */
  errors: Record<string, number>;
  /** Every HTTP status seen and how often (latency). */
  statusCounts?: Record<string, number>;
  /** Every measurement as taken, failures included. */
  samples: Sample[];
  /** Set when the overall time limit (or another stop) cut the run short. */
  stoppedEarly?: string;
  notes: string[];
}

export function buildResult(
  fields: Omit<BenchResult, 'tool' | 'formatVersion' | 'summary' | 'finishedAt'>,
): BenchResult {
  const summary: Record<string, PhaseSummary> = {};
  for (const [phase, values] of Object.entries(fields.phases)) summary[phase] = summarize(values);
  return { tool: 'dify-edge-bench', formatVersion: 1, ...fields, finishedAt: new Date().toISOString(), summary };
}

export function writeResult(file: string, result: BenchResult): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

/** Reads a result file and checks the fields `compare` relies on, naming the file in any complaint. */
export function readResult(file: string): BenchResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new BenchError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BenchError(`${file} is not JSON (expected the --out file of a bench command)`);
  }
  const candidate = parsed as Partial<BenchResult>;
  if (typeof parsed !== 'object' || parsed === null || !RESULT_KINDS.includes(candidate.kind as BenchKind)) {
    throw new BenchError(`${file} is not a bench result: "kind" must be one of ${RESULT_KINDS.join(', ')}`);
  }
  if (typeof candidate.phases !== 'object' || candidate.phases === null) {
    throw new BenchError(`${file} is not a bench result: "phases" is missing`);
  }
  for (const [phase, values] of Object.entries(candidate.phases)) {
    if (!Array.isArray(values) || values.some((value) => typeof value !== 'number' || !Number.isFinite(value))) {
      throw new BenchError(`${file}: phase "${phase}" must be a list of numbers (ms)`);
    }
  }
  const phases = candidate.phases as Record<string, number[]>;
  const summary: Record<string, PhaseSummary> = {};
  // Recomputed rather than trusted, so hand-edited or older files still compare correctly.
  for (const [phase, values] of Object.entries(phases)) summary[phase] = summarize(values);
  return {
    tool: 'dify-edge-bench',
    formatVersion: 1,
    kind: candidate.kind as BenchKind,
    label: typeof candidate.label === 'string' && candidate.label ? candidate.label : path.basename(file, '.json'),
    target: typeof candidate.target === 'string' ? candidate.target : '',
    startedAt: typeof candidate.startedAt === 'string' ? candidate.startedAt : '',
    finishedAt: typeof candidate.finishedAt === 'string' ? candidate.finishedAt : '',
    settings: candidate.settings ?? {},
    phases,
    summary,
    errors: candidate.errors ?? {},
    samples: Array.isArray(candidate.samples) ? candidate.samples : [],
    statusCounts: candidate.statusCounts,
    stoppedEarly: candidate.stoppedEarly,
    notes: Array.isArray(candidate.notes) ? candidate.notes : [],
  };
}

export function countError(errors: Record<string, number>, key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}
