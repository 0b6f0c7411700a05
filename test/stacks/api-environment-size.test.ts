/**
 * Lambda rejects a function whose environment exceeds 4 KB, measured as the JSON of the whole variable map (Lambda DG
 * "Working with Lambda environment variables", quotas). The api function's map holds long generated names (secret
 * ARNs, endpoints), so it is measured here with realistic worst-case values substituted for every token, in the
 * largest configurations this app can build, against a 3.25 KB budget that leaves room for future settings.
 */
import { EVERYTHING_ON } from './configurations';
import { realisticResolver } from './realistic-values';
import { functionByDescription, lambdaEnvironment, removeSynthOutputs, synthTemplates } from './template-helpers';

// 3.25 KB since backend sleep: its wake target names the CloudFormation-generated cluster (about 135 B with a
// 64-character stack prefix), which took the SnapStart worst case to 3,101 B; about 1 KB stays under Lambda's limit.
const BUDGET_BYTES = 3.25 * 1024;
const LAMBDA_LIMIT_BYTES = 4 * 1024;
const LONGEST_PREFIX = 'P'.repeat(64);
const LONG_DOMAIN = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.com`;

const WORST_CASES: Array<[string, Record<string, unknown>]> = [
  [
    'every option, provisioned concurrency and keep-warm',
    {
      ...EVERYTHING_ON,
      stackPrefix: LONGEST_PREFIX,
      domain: { name: LONG_DOMAIN, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
    },
  ],
  [
    'every option with SnapStart',
    {
      ...EVERYTHING_ON,
      stackPrefix: LONGEST_PREFIX,
      domain: { name: LONG_DOMAIN, certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
      api: { keepWarm: true, provisionedConcurrency: 0, snapStart: true },
    },
  ],
  ['the default configuration', {}],
];

afterAll(removeSynthOutputs);

describe.each(WORST_CASES)("the api function's environment (%s)", (_name, overrides) => {
  const { regional, synthesized } = synthTemplates(overrides);
  const resolve = realisticResolver(regional, synthesized.regional.stackName);
  const apiFunctions = [functionByDescription(regional, 'Dify api')];

  test('stays under the 3 KB budget with realistic names', () => {
    expect(apiFunctions).toHaveLength(1);
    const variables = Object.fromEntries(
      Object.entries(lambdaEnvironment(apiFunctions[0][1])).map(([name, value]) => [name, resolve(value)]),
    );
    const size = Buffer.byteLength(JSON.stringify(variables), 'utf8');
    // Backend sleep is on in every case here (its default in lambda hosting): the wake target is measured too.
    expect(variables.DIFY_EDGE_WAKE).toMatch(/^[^/]+\/dify-backend$/);
    if (process.env.PRINT_ENVIRONMENT_SIZE) process.stdout.write(`${_name}: ${size} bytes\n`);
    expect(size).toBeLessThan(BUDGET_BYTES);
    expect(BUDGET_BYTES).toBeLessThan(LAMBDA_LIMIT_BYTES);
  });

  test('names every secret ARN once', () => {
    const variables = lambdaEnvironment(apiFunctions[0][1]);
    const arns = resolve(variables.DIFY_EDGE_SECRET_IDS).match(/arn:aws:secretsmanager:[^"]+/g) ?? [];
    expect(arns.length).toBeGreaterThan(0);
    expect(new Set(arns).size).toBe(arns.length);
    const everythingElse = Object.entries(variables)
      .filter(([name]) => name !== 'DIFY_EDGE_SECRET_IDS')
      .map(([, value]) => resolve(value))
      .join('\n');
    expect(everythingElse).not.toContain('arn:aws:secretsmanager:');
  });
});
