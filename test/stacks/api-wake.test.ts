/**
 * Backend sleep on the api function (docs/adr/0018): with sleep on, the api's environment names the backend service
 * to wake (`DIFY_EDGE_WAKE=<cluster>/<service>`, read by functions/dify-api-image/backend_wake.py) and its role may
 * call ecs:UpdateService on that service only; with sleep off, neither.
 */
import { BACKEND_ECS_SERVICE_NAME } from '../../lib/constructs/backend-service';
import {
  CfnTemplate,
  asArray,
  at,
  functionByDescription,
  getAtt,
  lambdaEnvironment,
  onlyResource,
  propsOf,
  refId,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

afterAll(removeSynthOutputs);

function apiRoleStatements(template: CfnTemplate): Array<Record<string, unknown>> {
  const [, api] = functionByDescription(template, 'Dify api');
  const roleId = getAtt(propsOf(api).Role)?.[0];
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === roleId))
    .flatMap(
      ([, policy]) => asArray(at(propsOf(policy), 'PolicyDocument', 'Statement')) as Array<Record<string, unknown>>,
    );
}

/** An IAM Action or Resource: one value or a list. */
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

const ecsActions = (statements: Array<Record<string, unknown>>) =>
  statements.filter((s) => listOf(s.Action).some((action) => String(action).startsWith('ecs:')));

describe.each([
  ['idle (the default)', {}],
  ['working-hours', { backend: { sleep: { mode: 'working-hours' } } }],
])('the api function with backend.sleep.mode %s', (_name, overrides) => {
  const { regional } = synthTemplates(overrides);

  test('names the backend service to wake: <cluster name>/<fixed service name>, no ARN', () => {
    const [, service] = onlyResource(regional, 'AWS::ECS::Service');
    const clusterId = refId(propsOf(service).Cluster);
    expect(propsOf(service).ServiceName).toBe(BACKEND_ECS_SERVICE_NAME);
    const [, api] = functionByDescription(regional, 'Dify api');
    expect(lambdaEnvironment(api).DIFY_EDGE_WAKE).toEqual({
      'Fn::Join': ['', [{ Ref: clusterId }, `/${BACKEND_ECS_SERVICE_NAME}`]],
    });
  });

  test('may call ecs:UpdateService on that service only, and no other ECS action', () => {
    const statements = ecsActions(apiRoleStatements(regional));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'ecs:UpdateService' });
    const arn = JSON.stringify(statements[0].Resource);
    const [, service] = onlyResource(regional, 'AWS::ECS::Service');
    expect(arn).toContain(':service/');
    expect(arn).toContain(JSON.stringify({ Ref: refId(propsOf(service).Cluster) }));
    expect(arn).toContain(`/${BACKEND_ECS_SERVICE_NAME}`);
    expect(arn).not.toContain('*');
  });
});

describe('the api function with backend.sleep.mode off', () => {
  const { regional } = synthTemplates({ backend: { sleep: { mode: 'off' } } });

  test('has no wake target and no ECS permission (Dify starts as it always did)', () => {
    const [, api] = functionByDescription(regional, 'Dify api');
    expect(lambdaEnvironment(api).DIFY_EDGE_WAKE).toBeUndefined();
    expect(ecsActions(apiRoleStatements(regional))).toEqual([]);
  });
});
