import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatBenchTable, parseIterations, runSignerBenchmark } from '../../bench/signer-bench';

const REPO_ROOT = join(__dirname, '..', '..');
const TSX_CLI = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

describe('bench/signer-bench.ts', () => {
  test('runs in-process and reports one row per body size', async () => {
    const rows = await runSignerBenchmark({ iterations: 3, warmupIterations: 1 });

    expect(rows.map((row) => row.label)).toEqual(['1 KB', '100 KB', '1 MB']);
    for (const row of rows) {
      expect(row.iterations).toBe(3);
      expect(row.p50Ms).toBeLessThanOrEqual(row.p95Ms);
      expect(row.p95Ms).toBeLessThanOrEqual(row.maxMs);
      expect(row.meanMs).toBeGreaterThan(0);
    }
    const table = formatBenchTable(rows).split('\n');
    expect(table[0]).toMatch(/^body\s+iterations\s+mean ms\s+p50 ms\s+p95 ms\s+max ms$/);
    expect(table).toHaveLength(5);
  });

  test('the CLI prints the table for the three sizes', () => {
    const run = spawnSync(process.execPath, [TSX_CLI, 'bench/signer-bench.ts', '--iterations', '2'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const rowLabels = run.stdout
      .split('\n')
      .map((line) => /^(1 KB|100 KB|1 MB)\s+2\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$/.exec(line)?.[1])
      .filter((label) => label !== undefined);
    expect(rowLabels).toEqual(['1 KB', '100 KB', '1 MB']);
  });

  test('rejects a bad iteration count with a clear message', () => {
    expect(parseIterations([])).toBe(200);
    expect(parseIterations(['--iterations', '7'])).toBe(7);
    expect(parseIterations(['--iterations=9'])).toBe(9);
    expect(() => parseIterations(['--iterations', '0'])).toThrow(/positive integer/);
    expect(() => parseIterations(['--iterations', 'ten'])).toThrow(/positive integer/);
    expect(() => parseIterations(['--iterations'])).toThrow(/positive integer/);
    expect(() => parseIterations(['--fast'])).toThrow(/unknown argument "--fast"/);
  });
});
