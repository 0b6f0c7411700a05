import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROFILES, estimateCosts } from '../../bench/cost/model';
import { DEFAULT_CONFIG } from '../../lib/config';
import { PROVISIONED_CONCURRENCY_QUOTA_WARNING } from '../../lib/constructs/api-function';
import { SynthesizedDifyApp } from '../support/synth';
import {
  CfnTemplate,
  at,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

afterAll(removeSynthOutputs);

/** The api function's alias (the web function has one too). */
function apiAlias(template: CfnTemplate): Record<string, unknown> {
  const apiId = outputTarget(template, 'ApiFunctionName');
  const found = resourcesOfType(template, 'AWS::Lambda::Alias').filter(
    ([, a]) => refId(propsOf(a).FunctionName) === apiId,
  );
  expect(found).toHaveLength(1);
  return propsOf(found[0][1]);
}

function quotaWarnings(synthesized: SynthesizedDifyApp) {
  return Annotations.fromStack(synthesized.regional).findWarning(
    '*',
    Match.stringLikeRegexp(`Concurrent executions.*${PROVISIONED_CONCURRENCY_QUOTA_WARNING}`),
  );
}

describe('provisioned concurrency 2 on the api', () => {
  const { synthesized, regional } = synthTemplates({ api: { provisionedConcurrency: 2 } });

  test('the live alias keeps 2 environments provisioned', () => {
    expect(at(apiAlias(regional), 'ProvisionedConcurrencyConfig', 'ProvisionedConcurrentExecutions')).toBe(2);
  });

  test('synth warns once, naming the quota, the region and the 100 units Lambda keeps unreserved', () => {
    const warnings = quotaWarnings(synthesized);
    expect(warnings).toHaveLength(1);
    const text = JSON.stringify(warnings[0].entry.data);
    expect(text).toContain('Service Quotas');
    expect(text).toContain('ap-northeast-1');
    expect(text).toContain('at least 102');
    expect(text).toContain('100 units of account concurrency unreserved');
    expect(warnings[0].id).toMatch(/\/Api$/);
  });
});

test('no provisioned concurrency, no warning', () => {
  const { synthesized, regional } = synthTemplates();
  expect(apiAlias(regional).ProvisionedConcurrencyConfig).toBeUndefined();
  expect(quotaWarnings(synthesized)).toEqual([]);
});

test("the setting's cost note is the cost model's figure at the default api memory", () => {
  const estimate = estimateCosts({
    ...PROFILES.low,
    region: 'us-east-1',
    apiMemoryMb: DEFAULT_CONFIG.api.memoryMb,
    provisionedConcurrency: 1,
  });
  const line = JSON.stringify(estimate).match(/"item":"Lambda api provisioned concurrency","usd":([\d.]+)/);
  if (!line) throw new Error('the cost model has no provisioned-concurrency line');
  const monthly = Math.round(Number(line[1]));
  const source = fs.readFileSync(path.join(__dirname, '..', '..', 'lib', 'config.ts'), 'utf8');
  expect(source).toContain(`≈ $${monthly}/month per environment at the default ${DEFAULT_CONFIG.api.memoryMb} MB`);
});
