import { BenchResult } from '../lib/result';
import { formatMs, PhaseSummary } from '../lib/stats';

/** Phases of both results, A's order first, then any only B has. */
export function phaseNames(a: BenchResult, b: BenchResult): string[] {
  const names = Object.keys(a.phases);
  for (const name of Object.keys(b.phases)) if (!names.includes(name)) names.push(name);
  return names;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || a <= 0) return '—';
  return `${(b / a).toFixed(2)}×`;
}

function describeErrors(result: BenchResult): string {
  const entries = Object.entries(result.errors);
  if (entries.length === 0) return 'none';
  return entries.map(([key, count]) => `${key} ×${count}`).join(', ');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

const STATS: Array<keyof Pick<PhaseSummary, 'min' | 'median' | 'p95' | 'max'>> = ['min', 'median', 'p95', 'max'];

/** Side-by-side Markdown: one block of rows per phase (min, median, p95, max) with B ÷ A. */
export function compareMarkdown(a: BenchResult, b: BenchResult, svgFile?: string): string {
  const lines: string[] = [];
  lines.push(`# Benchmark comparison: ${cell(a.label)} vs ${cell(b.label)}`, '');
  lines.push(`| | A | B |`, `|---|---|---|`);
  lines.push(`| label | ${cell(a.label)} | ${cell(b.label)} |`);
  lines.push(`| kind | ${a.kind} | ${b.kind} |`);
  lines.push(`| target | ${cell(a.target)} | ${cell(b.target)} |`);
  lines.push(`| started | ${a.startedAt} | ${b.startedAt} |`);
  lines.push(`| errors | ${cell(describeErrors(a))} | ${cell(describeErrors(b))} |`);
  if (a.stoppedEarly || b.stoppedEarly) {
    lines.push(`| stopped early | ${cell(a.stoppedEarly ?? 'no')} | ${cell(b.stoppedEarly ?? 'no')} |`);
  }
  lines.push('', '## Phases', '');
  lines.push(
    'Times from the start of each request (or of the scale-up for `wake`). B ÷ A below 1 means B is faster.',
    '',
  );
  lines.push(`| phase | stat | A: ${cell(a.label)} | B: ${cell(b.label)} | B ÷ A |`, '|---|---|---:|---:|---:|');
  for (const phase of phaseNames(a, b)) {
    const summaryA = a.summary[phase];
    const summaryB = b.summary[phase];
    lines.push(`| **${cell(phase)}** | n | ${summaryA?.count ?? '—'} | ${summaryB?.count ?? '—'} | |`);
    for (const stat of STATS) {
      const valueA = summaryA && summaryA.count > 0 ? summaryA[stat] : undefined;
      const valueB = summaryB && summaryB.count > 0 ? summaryB[stat] : undefined;
      lines.push(`| | ${stat} | ${formatMs(valueA)} | ${formatMs(valueB)} | ${ratio(valueA, valueB)} |`);
    }
  }
  const notes = [...a.notes.map((note) => `A: ${note}`), ...b.notes.map((note) => `B: ${note}`)];
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes.map((note) => `- ${cell(note)}`));
  if (svgFile) lines.push('', `![distributions](${svgFile})`);
  return `${lines.join('\n')}\n`;
}
