import { EVERYTHING_ON } from './configurations';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeSynthOutputs, synthTemplates } from './template-helpers';

/**
 * Runs the real cfn-lint over both synthesized templates of both hosting modes. W3005 (DependsOn already implied
 * by a reference) is ignored: CDK adds explicit DependsOn edges on purpose (e.g. on the migration custom resource).
 */
const SKIP = process.env.SKIP_CFN_LINT === '1';
const INSTALL_HINT = 'Install it with `pip install cfn-lint` (or set SKIP_CFN_LINT=1 to skip this check locally).';

interface LintFinding {
  readonly Filename: string;
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Start: { readonly LineNumber: number }; readonly Path?: Array<string | number> };
}

function cfnLintVersion(): string | undefined {
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? undefined : probe.stdout.trim();
}

function formatFinding(finding: LintFinding): string {
  const where = `${path.basename(finding.Filename)}:${finding.Location.Start.LineNumber}`;
  const resourcePath = (finding.Location.Path ?? []).join('/');
  return `${finding.Level} ${finding.Rule.Id} ${where} ${resourcePath}\n    ${finding.Message}`;
}

if (SKIP) {
  console.warn('SKIP_CFN_LINT=1: cfn-lint validation of the synthesized templates is skipped.');
}

/** Both hosting modes, plus every optional feature switched on (each adds resources of its own). */
const CONFIGURATIONS: Array<Record<string, unknown>> = [
  { hosting: 'lambda' },
  { hosting: 'alb' },
  EVERYTHING_ON,
  { ...EVERYTHING_ON, hosting: 'alb' },
  { api: { snapStart: true } },
  { ...EVERYTHING_ON, uploads: { mode: 'full' } },
];

(SKIP ? describe.skip : describe)('cfn-lint on the synthesized templates', () => {
  const templateFiles: string[] = [];

  beforeAll(() => {
    for (const overrides of CONFIGURATIONS) {
      // Bundled exactly as `cdk synth` does, so the linted templates are the deployable ones.
      const { synthesized } = synthTemplates(overrides, { bundle: true });
      const assembly = synthesized.app.synth();
      const files = fs
        .readdirSync(assembly.directory)
        .filter((name) => name.endsWith('.template.json'))
        .map((name) => path.join(assembly.directory, name));
      templateFiles.push(...files);
    }
  });
  afterAll(removeSynthOutputs);

  test('every configuration synthesizes an edge and a regional template', () => {
    const names = templateFiles.map((file) => path.basename(file));
    expect(names.filter((n) => n === 'DifyEdge-Edge.template.json')).toHaveLength(CONFIGURATIONS.length);
    expect(names.filter((n) => n === 'DifyEdge-Regional.template.json')).toHaveLength(CONFIGURATIONS.length);
  });

  test('cfn-lint reports no errors', () => {
    const version = cfnLintVersion();
    if (!version) throw new Error(`cfn-lint is not installed or not on PATH. ${INSTALL_HINT}`);
    const run = spawnSync('cfn-lint', ['--format', 'json', '-i', 'W3005', '--', ...templateFiles], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    if (run.error) throw run.error;
    let findings: LintFinding[];
    try {
      findings = JSON.parse(run.stdout || '[]') as LintFinding[];
    } catch {
      throw new Error(`${version} did not produce JSON (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
    const errors = findings.filter((finding) => finding.Level === 'Error');
    const others = findings.filter((finding) => finding.Level !== 'Error');
    if (others.length > 0) console.warn(`${version} warnings:\n${others.map(formatFinding).join('\n')}`);
    expect(errors.map(formatFinding)).toEqual([]);
    // Exit codes are a bit mask (2 = errors); any other failure (a crash, a bad argument) must not pass silently.
    expect(run.status === 0 || (run.status !== null && (run.status & 2) === 0 && findings.length > 0)).toBe(true);
  });
});
