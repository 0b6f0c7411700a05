import { DEFAULT_CONFIG, stackNames } from '../../lib/config';
import { migrationTaskFamily } from '../../lib/constructs/database-migration';
import {
  CfnTemplate,
  asArray,
  at,
  flatten,
  getAtt,
  isRecord,
  lambdaEnvironment,
  onlyResource,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

afterAll(removeSynthOutputs);

/** The statements of every policy on the migration runner's role (custom resource → framework → runner → role). */
function runnerStatements(template: CfnTemplate): Array<Record<string, unknown>> {
  const [, migration] = onlyResource(template, 'Custom::DifyDatabaseMigration');
  const frameworkId = getAtt(propsOf(migration).ServiceToken)?.[0] ?? '';
  const runnerId = getAtt(lambdaEnvironment(resource(template, frameworkId)).USER_ON_EVENT_FUNCTION_ARN)?.[0] ?? '';
  const roleId = getAtt(propsOf(resource(template, runnerId)).Role)?.[0] ?? '';
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === roleId))
    .flatMap(([, policy]) => asArray(at(propsOf(policy), 'PolicyDocument', 'Statement')))
    .filter(isRecord);
}

function allowing(statements: Array<Record<string, unknown>>, action: string): Array<Record<string, unknown>> {
  return statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action));
}

describe('migration runner permissions survive a Dify upgrade unchanged', () => {
  const current = synthTemplates();
  const upgraded = synthTemplates({ difyVersion: '1.14.0' });
  const family = migrationTaskFamily(stackNames(DEFAULT_CONFIG).regional);

  test.each([
    ['current', current],
    ['upgraded', upgraded],
  ])('%s: the task has a fixed family; RunTask covers every revision of it, on this cluster only', (_name, synth) => {
    const [, migration] = onlyResource(synth.regional, 'Custom::DifyDatabaseMigration');
    const taskId = refId(propsOf(migration).TaskDefinitionArn) ?? '';
    expect(propsOf(resource(synth.regional, taskId)).Family).toBe(family);
    expect(family).toBe('DifyEdge-Regional-dify-migration');

    const runTask = allowing(runnerStatements(synth.regional), 'ecs:RunTask');
    expect(runTask).toHaveLength(1);
    expect(flatten(runTask[0].Resource)).toBe(
      `arn:aws:ecs:ap-northeast-1:<Ref:AWS::AccountId>:task-definition/${family}:*`,
    );
    const [clusterId] = onlyResource(synth.regional, 'AWS::ECS::Cluster');
    expect(getAtt(at(runTask[0].Condition, 'ArnEquals', 'ecs:cluster'))).toEqual([clusterId, 'Arn']);
  });

  test('iam:PassRole names only the task and execution roles, and only for ECS tasks', () => {
    const [, migration] = onlyResource(current.regional, 'Custom::DifyDatabaseMigration');
    const task = propsOf(resource(current.regional, refId(propsOf(migration).TaskDefinitionArn) ?? ''));
    const passRole = allowing(runnerStatements(current.regional), 'iam:PassRole');
    expect(passRole).toHaveLength(1);
    expect(new Set([passRole[0].Resource].flat().map((r) => JSON.stringify(r)))).toEqual(
      new Set([JSON.stringify(task.TaskRoleArn), JSON.stringify(task.ExecutionRoleArn)]),
    );
    expect(passRole[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
  });

  test('an upgrade registers a new task revision but leaves the runner policy as it was', () => {
    const taskOf = (template: CfnTemplate) => {
      const [, migration] = onlyResource(template, 'Custom::DifyDatabaseMigration');
      return propsOf(resource(template, refId(propsOf(migration).TaskDefinitionArn) ?? ''));
    };
    expect(JSON.stringify(taskOf(upgraded.regional).ContainerDefinitions)).not.toBe(
      JSON.stringify(taskOf(current.regional).ContainerDefinitions),
    );
    expect(runnerStatements(upgraded.regional)).toEqual(runnerStatements(current.regional));
  });
});
