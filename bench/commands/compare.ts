import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchIo, COMMON_OPTIONS, parseCommandArgs, stringOption } from '../lib/context';
import { BenchUsageError } from '../lib/errors';
import { BenchResult, readResult } from '../lib/result';
import { summarize } from '../lib/stats';
import { compareMarkdown } from '../report/markdown';
import { compareSvg } from '../report/svg';

export const COMPARE_USAGE = `compare <a.json> <b.json> [--out report.md] [--svg chart.svg] [--pair "A phase=B phase" ...]
  Side-by-side Markdown report of two results (min/median/p95/max per phase, B ÷ A) and an SVG chart.
  --pair lines up differently named phases, e.g. --pair "cold total=completed" for Lambda cold-start vs ECS wake.`;

const OPTIONS = {
  help: COMMON_OPTIONS.help,
  out: COMMON_OPTIONS.out,
  svg: { type: 'string' },
  pair: { type: 'string', multiple: true },
} as const;

/** Renames B's phase to A's name so the two share a row in the report and the chart. */
function applyPair(a: BenchResult, b: BenchResult, pair: string): void {
  const [phaseA, phaseB] = pair.split('=').map((part) => part.trim());
  if (!phaseA || !phaseB || pair.split('=').length !== 2) {
    throw new BenchUsageError(`compare: --pair must look like "A phase=B phase", got '${pair}'`);
  }
  if (!a.phases[phaseA])
    throw new BenchUsageError(`compare: A has no phase '${phaseA}' (has: ${Object.keys(a.phases).join(', ')})`);
  if (!b.phases[phaseB])
    throw new BenchUsageError(`compare: B has no phase '${phaseB}' (has: ${Object.keys(b.phases).join(', ')})`);
  const values = b.phases[phaseB];
  delete b.phases[phaseB];
  delete b.summary[phaseB];
  b.phases[phaseA] = values;
  b.summary[phaseA] = summarize(values);
  b.notes.push(`B's phase '${phaseB}' is shown as '${phaseA}'.`);
}

export async function runCompare(argv: string[], io: BenchIo): Promise<void> {
  const { values, positionals } = parseCommandArgs('compare', argv, OPTIONS, true);
  if (positionals.length !== 2) {
    throw new BenchUsageError(`compare: expected two result files, got ${positionals.length}`);
  }
  const [a, b] = positionals.map((file) => readResult(file));
  const pairs = values.pair;
  if (Array.isArray(pairs)) for (const pair of pairs) applyPair(a, b, String(pair));
  const outFile = stringOption(values, 'out');
  const svgFile = stringOption(values, 'svg');
  if (svgFile) {
    fs.mkdirSync(path.dirname(path.resolve(svgFile)), { recursive: true });
    fs.writeFileSync(svgFile, compareSvg(a, b));
    io.stderr(`[compare] wrote ${svgFile}\n`);
  }
  // Link the chart relative to the report so the pair can be moved together.
  const svgLink =
    svgFile && outFile ? path.relative(path.dirname(path.resolve(outFile)), path.resolve(svgFile)) : svgFile;
  const markdown = compareMarkdown(a, b, svgLink);
  if (outFile) {
    fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
    fs.writeFileSync(outFile, markdown);
    io.stderr(`[compare] wrote ${outFile}\n`);
  } else {
    io.stdout(markdown);
  }
}
