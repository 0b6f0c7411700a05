/** Distribution of one phase, in milliseconds. */
export interface PhaseSummary {
  count: number;
  min: number;
  median: number;
  p95: number;
  max: number;
  mean: number;
}

/**
 * Percentile with linear interpolation between closest ranks (the "R-7" definition spreadsheets use),
 * so p95 of a handful of cold starts is between the two slowest rather than always the slowest.
 */
export function percentile(sortedAscending: readonly number[], fraction: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const position = (sortedAscending.length - 1) * fraction;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const weight = position - lower;
  return sortedAscending[lower] * (1 - weight) + sortedAscending[upper] * weight;
}

export function summarize(values: readonly number[]): PhaseSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value: number): number => (Number.isFinite(value) ? Math.round(value * 10) / 10 : value);
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return {
    count: sorted.length,
    min: round(sorted.length ? sorted[0] : Number.NaN),
    median: round(percentile(sorted, 0.5)),
    p95: round(percentile(sorted, 0.95)),
    max: round(sorted.length ? sorted[sorted.length - 1] : Number.NaN),
    mean: round(mean),
  };
}

/** "1234 ms" below 10 s, "12.3 s" above: cold starts span both. */
export function formatMs(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  return `${Math.round(value)} ms`;
}
