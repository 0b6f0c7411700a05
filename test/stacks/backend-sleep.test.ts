/**
 * The backend sleep controller in the synthesized templates (docs/adr/0018): schedule, network reach, least
 * privilege, baked settings, and the backend service leaving DesiredCount to it.
 */
import { ENVIRONMENT } from '../../functions/backend-sleep/environment';
import { BACKEND_ECS_SERVICE_NAME, DIFY_DEFAULT_QUEUES } from '../../lib/constructs/backend-service';
import { Cache } from '../../lib/constructs/cache';
import {
  type CfnResource,
  type CfnTemplate,
  asArray,
  flatten,
  functionByDescription,
  getAtt,
  ingressRulesOf,
  isRecord,
  lambdaEnvironment,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

const CONTROLLER = 'Dify backend sleep controller';

afterAll(() => removeSynthOutputs());

function backendService(template: CfnTemplate): CfnResource {
  const services = resourcesOfType(template, 'AWS::ECS::Service').filter(
    ([, service]) => propsOf(service).ServiceName === BACKEND_ECS_SERVICE_NAME,
  );
  if (services.length !== 1) throw new Error(`expected one backend service, found ${services.length}`);
  return services[0][1];
}

/** An IAM `Action` or `Resource`: one value or a list. */
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** Statements of the policies attached to a role, flattened to text for matching. */
function statementsOfRole(template: CfnTemplate, roleId: string): Array<{ actions: string[]; resources: string[] }> {
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === roleId))
    .flatMap(([, policy]) => asArray((propsOf(policy).PolicyDocument as Record<string, unknown>).Statement))
    .filter(isRecord)
    .map((statement) => ({
      actions: listOf(statement.Action).map(String),
      resources: listOf(statement.Resource).map(flatten),
    }));
}

describe('backend sleep on (lambda hosting, working-hours mode)', () => {
  let template: CfnTemplate;
  let fnId: string;
  let fn: CfnResource;

  beforeAll(() => {
    template = synthTemplates({ backend: { sleep: { mode: 'working-hours', idleMinutes: 45 } } }).regional;
    [fnId, fn] = functionByDescription(template, CONTROLLER);
  });

  test('an EventBridge rule runs the controller every 5 minutes, without retries', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) =>
      asArray(propsOf(rule).Targets).some((target) => isRecord(target) && getAtt(target.Arn)?.[0] === fnId),
    );
    expect(rules).toHaveLength(1);
    const props = propsOf(rules[0][1]);
    expect(props.ScheduleExpression).toBe('rate(5 minutes)');
    expect(props.State).toBe('ENABLED');
    const [target] = asArray(props.Targets) as Array<Record<string, unknown>>;
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    const permissions = resourcesOfType(template, 'AWS::Lambda::Permission').filter(
      ([, permission]) => getAtt(propsOf(permission).FunctionName)?.[0] === fnId,
    );
    expect(permissions.map(([, permission]) => propsOf(permission).Principal)).toEqual(['events.amazonaws.com']);
  });

  test('the function runs in the private subnets with its own security group, reaching Redis on 6379', () => {
    const vpcConfig = propsOf(fn).VpcConfig as Record<string, unknown>;
    const subnets = asArray(vpcConfig.SubnetIds).map((subnet) => refId(subnet) ?? '');
    expect(subnets.length).toBeGreaterThan(0);
    expect(subnets.every((subnet) => /PrivateSubnet/.test(subnet))).toBe(true);
    const groups = asArray(vpcConfig.SecurityGroupIds).map((group) => getAtt(group)?.[0]);
    expect(groups).toHaveLength(1);
    const groupId = groups[0]!;
    expect(propsOf(resource(template, groupId)).GroupDescription).toBe(CONTROLLER);

    const [cacheGroupId] = resourcesOfType(template, 'AWS::EC2::SecurityGroup').find(
      ([, group]) => propsOf(group).GroupDescription === 'Dify Valkey (Redis protocol, TLS)',
    )!;
    expect(ingressRulesOf(template, cacheGroupId)).toContainEqual(
      expect.objectContaining({ protocol: 'tcp', fromPort: Cache.PORT, toPort: Cache.PORT, sourceGroup: groupId }),
    );
    // Outbound: HTTPS for the AWS APIs and Redis to the cache's group only.
    const inline = asArray(propsOf(resource(template, groupId)).SecurityGroupEgress).filter(isRecord);
    const standalone = resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress')
      .map(([, rule]) => propsOf(rule))
      .filter((rule) => getAtt(rule.GroupId)?.[0] === groupId);
    const egress = [...inline, ...standalone].map((rule) => ({
      port: rule.FromPort,
      to: rule.CidrIp ?? getAtt(rule.DestinationSecurityGroupId)?.[0],
    }));
    expect(egress).toEqual(
      expect.arrayContaining([
        { port: 443, to: '0.0.0.0/0' },
        { port: Cache.PORT, to: cacheGroupId },
      ]),
    );
    expect(egress).toHaveLength(2);
  });

  test('settings are baked into the environment; Redis TLS is always on', () => {
    const environment = lambdaEnvironment(fn);
    expect(environment[ENVIRONMENT.redisTls]).toBe('true');
    expect(environment[ENVIRONMENT.redisPort]).toBe(String(Cache.PORT));
    expect(flatten(environment[ENVIRONMENT.redisHost])).toMatch(/^<GetAtt:Cache.*\.PrimaryEndPoint\.Address>$/);
    expect(environment[ENVIRONMENT.mode]).toBe('working-hours');
    expect(environment[ENVIRONMENT.idleMinutes]).toBe('45');
    expect(environment[ENVIRONMENT.days]).toBe('MON-FRI');
    expect(environment[ENVIRONMENT.start]).toBe('09:00');
    expect(environment[ENVIRONMENT.end]).toBe('18:00');
    expect(environment[ENVIRONMENT.timeZone]).toBe('Asia/Tokyo');
    expect(environment[ENVIRONMENT.service]).toBe(BACKEND_ECS_SERVICE_NAME);
    expect(refId(environment[ENVIRONMENT.cluster])).toMatch(/^Cluster/);
    expect(environment[ENVIRONMENT.queues]).toBe(DIFY_DEFAULT_QUEUES.join(','));
    expect(environment[ENVIRONMENT.redisSecretField]).toBe('redisAuthToken');
    expect(refId(environment[ENVIRONMENT.redisSecretArn])).toMatch(/^SecretsSecret/);
    const [relayId] = functionByDescription(template, 'Dify upload relay');
    expect(refId(environment[ENVIRONMENT.relayFunctionName])).toBe(relayId);
  });

  test('least privilege: this service only (describe, update), the Dify secret only, metric reads', () => {
    const roleId = getAtt(propsOf(fn).Role)![0];
    const statements = statementsOfRole(template, roleId);
    const ecs = statements.filter((statement) => statement.actions.some((action) => action.startsWith('ecs:')));
    expect(ecs).toHaveLength(1);
    expect(ecs[0].actions.sort()).toEqual(['ecs:DescribeServices', 'ecs:UpdateService']);
    expect(ecs[0].resources).toHaveLength(1);
    expect(ecs[0].resources[0]).toMatch(new RegExp(`:service/<Ref:Cluster[A-Za-z0-9]+>/${BACKEND_ECS_SERVICE_NAME}$`));

    const secrets = statements.filter((statement) => statement.actions.some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toEqual([
      { actions: ['secretsmanager:GetSecretValue'], resources: [expect.stringMatching(/^<Ref:SecretsSecret/)] },
    ]);

    const wildcard = statements.filter((statement) => statement.resources.includes('*'));
    expect(wildcard).toEqual([{ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }]);
  });

  test('the backend service does not pin DesiredCount, so a deploy neither wakes nor stops it', () => {
    expect(propsOf(backendService(template))).not.toHaveProperty('DesiredCount');
  });

  test('logs: a log group with a retention, named in an output', () => {
    const logGroupId = refId((propsOf(fn).LoggingConfig as Record<string, unknown>).LogGroup)!;
    expect(propsOf(resource(template, logGroupId)).RetentionInDays).toBe(30);
    expect(refId(template.Outputs?.BackendSleepLogGroup?.Value)).toBe(logGroupId);
  });
});

describe('backend sleep default mode', () => {
  test("is 'idle' in lambda hosting and the controller exists", () => {
    const { regional } = synthTemplates();
    const [, fn] = functionByDescription(regional, CONTROLLER);
    expect(lambdaEnvironment(fn)[ENVIRONMENT.mode]).toBe('idle');
    expect(lambdaEnvironment(fn)[ENVIRONMENT.idleMinutes]).toBe('30');
  });
});

describe('backend sleep off', () => {
  test('no controller, and the service keeps DesiredCount 1', () => {
    const { regional } = synthTemplates({ backend: { sleep: { mode: 'off' } } });
    expect(() => functionByDescription(regional, CONTROLLER)).toThrow(/0 functions/);
    expect(propsOf(backendService(regional)).DesiredCount).toBe(1);
    expect(regional.Outputs?.BackendSleepLogGroup).toBeUndefined();
  });

  test('alb hosting: nothing is created (sleep defaults to off there)', () => {
    const { regional } = synthTemplates({ hosting: 'alb' });
    expect(() => functionByDescription(regional, CONTROLLER)).toThrow(/0 functions/);
    expect(propsOf(backendService(regional)).DesiredCount).toBe(1);
    expect(resourcesOfType(regional, 'AWS::Events::Rule').map(([, rule]) => propsOf(rule).Description)).not.toContain(
      'Runs the Dify backend sleep controller',
    );
  });
});
