import { EVERYTHING_ON } from './configurations';
import { App, PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { removeSynthOutputs, synthTemplates } from './template-helpers';

/** Long enough to say why a finding is accepted, not just "ok" or "not needed". */
const MIN_REASON_LENGTH = 20;

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every acknowledgement recorded through `Validations.of(construct).acknowledge(...)` in the app. */
function acknowledgements(app: App): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      const data = entry.data as Record<string, unknown>;
      for (const [id, reason] of Object.entries(data)) found.push({ path: construct.node.path, id, reason });
    }
  }
  return found;
}

function describeViolations(report: PolicyValidationPluginReport): string {
  return report.violations
    .map(
      (v) => `${v.ruleName}: ${v.description}\n    ${v.violatingResources.map((r) => r.constructPath).join('\n    ')}`,
    )
    .join('\n');
}

function nagReport(overrides: Record<string, unknown>): { app: App; report: PolicyValidationPluginReport } {
  const { synthesized } = synthTemplates(overrides);
  return { app: synthesized.app, report: new AwsSolutionsChecks(synthesized.app).validateScope(synthesized.app) };
}

function expectNoViolations(report: PolicyValidationPluginReport): void {
  if (report.violations.length > 0) {
    console.log(`Unacknowledged cdk-nag AwsSolutions findings:\n${describeViolations(report)}`);
  }
  expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  expect(report.success).toBe(true);
}

function expectReviewedAcknowledgements(app: App): void {
  const acks = acknowledgements(app);
  for (const ack of acks) {
    const problem =
      typeof ack.reason !== 'string'
        ? 'no reason'
        : ack.reason.trim().length < MIN_REASON_LENGTH
          ? `reason shorter than ${MIN_REASON_LENGTH} characters: "${ack.reason}"`
          : undefined;
    expect({ path: ack.path, id: ack.id, problem }).toEqual({ path: ack.path, id: ack.id, problem: undefined });
  }
  // cdk-nag findings are acknowledged on the construct that raised them, never on a whole stack or the app (CDK
  // itself acknowledges some of its own CloudFormation-Validate warnings per stack; those are not reviewed here).
  const nagAcks = acks.filter((ack) => ack.id.includes('AwsSolutions-'));
  expect(nagAcks.length).toBeGreaterThan(10);
  const byPath = new Map<string, IConstruct>(app.node.findAll().map((c) => [c.node.path, c]));
  const broad = nagAcks.filter((ack) => {
    const construct = byPath.get(ack.path) ?? app;
    return construct === app || Stack.isStack(construct);
  });
  expect(broad).toEqual([]);
}

describe.each([
  ['lambda hosting', { hosting: 'lambda' }],
  ['alb hosting', { hosting: 'alb' }],
  ['every option on', EVERYTHING_ON],
  ['alb hosting, every option on', { ...EVERYTHING_ON, hosting: 'alb' }],
  ['api SnapStart', { api: { snapStart: true } }],
  ['full-size uploads, every option on', { ...EVERYTHING_ON, uploads: { mode: 'full' } }],
])('cdk-nag AwsSolutions (%s)', (_name, overrides) => {
  let app: App;
  let report: PolicyValidationPluginReport;

  beforeAll(() => {
    ({ app, report } = nagReport(overrides));
  });
  afterAll(removeSynthOutputs);

  test('every finding is fixed or acknowledged', () => {
    expectNoViolations(report);
  });

  test('every acknowledgement has a real reason and sits on a single construct', () => {
    expectReviewedAcknowledgements(app);
  });
});
