import { cdkJsonContext } from '../support/synth';
import {
  CfnTemplate,
  dependsOn,
  getAtt,
  isRecord,
  propsOf,
  refId,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

afterAll(removeSynthOutputs);

/** Every logical ID a value names through `Ref` or `Fn::GetAtt`, at any depth. */
function references(value: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    const ref = refId(v) ?? getAtt(v)?.[0];
    if (ref !== undefined) found.add(ref);
    if (Array.isArray(v)) v.forEach(walk);
    else if (isRecord(v)) Object.values(v).forEach(walk);
  };
  walk(value);
  return found;
}

const RUNS_CODE = new Set(['AWS::Lambda::Function', 'AWS::StepFunctions::StateMachine', 'AWS::IAM::Role']);

/**
 * The IAM policies a custom resource's code runs with: follow its ServiceToken to the function, from there to its
 * role and to the functions and state machines it calls (the Provider framework names them in its environment and
 * state machine definition), and collect every AWS::IAM::Policy attached to one of those roles.
 */
function policiesUsedBy(template: CfnTemplate, customResourceId: string): string[] {
  const seen = new Set<string>();
  const queue = [...references(propsOf(template.Resources[customResourceId]).ServiceToken)];
  while (queue.length > 0) {
    const id = queue.pop() as string;
    const found = template.Resources[id];
    if (seen.has(id) || !found || !RUNS_CODE.has(found.Type)) continue;
    seen.add(id);
    queue.push(...references(found.Properties));
  }
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => [...references(propsOf(policy).Roles)].some((role) => seen.has(role)))
    .map(([id]) => id)
    .sort();
}

/** Everything a resource waits for before CloudFormation creates it: DependsOn and references, transitively. */
function createdBefore(template: CfnTemplate, id: string): Set<string> {
  const seen = new Set<string>();
  const queue = [id];
  while (queue.length > 0) {
    const next = template.Resources[queue.pop() as string];
    if (!next) continue;
    for (const dep of [...dependsOn(next), ...references(next.Properties)]) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return seen;
}

function customResources(template: CfnTemplate): Array<[string, string]> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
    .map(([id, r]) => [id, r.Type]);
}

test('cdk.json does not turn on createNewPoliciesWithAddToRolePolicy (separate policies nothing waits for)', () => {
  expect(cdkJsonContext()['@aws-cdk/aws-lambda:createNewPoliciesWithAddToRolePolicy']).not.toBe(true);
});

describe.each([
  ['lambda hosting', {}],
  ['alb hosting', { hosting: 'alb' }],
  ['full-size uploads', { uploads: { mode: 'full' } }],
])('custom resources wait for their IAM policies (%s)', (_name, overrides) => {
  const { regional, edge } = synthTemplates(overrides);

  test.each(['Custom::DifyDatabases', 'Custom::DifyDatabaseMigration', 'Custom::AWS'])(
    '%s DependsOn every policy of its handler and Provider framework roles',
    (type) => {
      const [[id, r]] = resourcesOfType(regional, type);
      const policies = policiesUsedBy(regional, id);
      expect(policies.length).toBeGreaterThan(0);
      expect(
        dependsOn(r)
          .filter((dep) => policies.includes(dep))
          .sort(),
      ).toEqual(policies);
    },
  );

  test('the migration waits for the runner, checker, framework and waiter policies', () => {
    const [[id]] = resourcesOfType(regional, 'Custom::DifyDatabaseMigration');
    // onEvent, isComplete, onTimeout (framework), runner, checker (handlers), and the waiter state machine.
    expect(policiesUsedBy(regional, id)).toHaveLength(6);
  });

  test('every custom resource in both stacks (CDK helpers included) is created after its policies', () => {
    for (const template of [regional, edge]) {
      for (const [id, type] of customResources(template)) {
        const before = createdBefore(template, id);
        expect({ id, type, missing: policiesUsedBy(template, id).filter((p) => !before.has(p)) }).toEqual({
          id,
          type,
          missing: [],
        });
      }
    }
  });
});
