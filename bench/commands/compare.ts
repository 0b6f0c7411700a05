import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchIo, COMMON_OPTIONS, parseCommandArgs, stringOption } from '../lib/context';
import { BenchUsageError } from '../lib/errors';
import { readResult } from '../lib/result';
import { compareMarkdown } from '../report/markdown';
import { compareSvg } from '../report/svg';

export const COMPARE_USAGE = `compare <a.json> <b.json> [--out report.md] [--svg chart.svg]
  Side-by-side Markdown report of two results (min/median/p95/max per phase, B ÷ A) and an SVG chart.`;

const OPTIONS = { help: COMMON_OPTIONS.help, out: COMMON_OPTIONS.out, svg: { type: 'string' } } as const;

export async function runCompare(argv: string[], io: BenchIo): Promise<void> {
  const { values, positionals } = parseCommandArgs('compare', argv, OPTIONS, true);
  if (positionals.length !== 2) {
    throw new BenchUsageError(`compare: expected two result files, got ${positionals.length}`);
  }
  const [a, b] = positionals.map((file) => readResult(file));
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
