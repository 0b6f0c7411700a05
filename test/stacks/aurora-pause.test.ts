import { DEFAULT_CONFIG } from '../../lib/config';
import { Database, IDLE_SESSION_TIMEOUT_SECONDS } from '../../lib/constructs/database';
import { readReference, describeWithReference } from '../support/reference';
import {
  CfnTemplate,
  asArray,
  container,
  environmentOf,
  lambdaEnvironment,
  onlyResource,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

function pluginDaemonEnvironment(template: CfnTemplate): Record<string, unknown> {
  const service = resource(template, outputTarget(template, 'BackendServiceName'));
  const taskDefinition = resource(template, refId(propsOf(service).TaskDefinition) ?? '');
  return environmentOf(container(taskDefinition, 'plugin-daemon'));
}

/** Every container of every task definition that runs Dify's api image code (api, worker, beat, migrations). */
function difyApiEnvironments(template: CfnTemplate): Array<Record<string, unknown>> {
  return (
    Object.values(template.Resources)
      .filter((candidate) => candidate.Type === 'AWS::ECS::TaskDefinition')
      .flatMap((taskDefinition) => asArray(propsOf(taskDefinition).ContainerDefinitions))
      .map((definition) => environmentOf(definition as Parameters<typeof environmentOf>[0]))
      // MODE (api, worker, beat) is what Dify's api image entrypoint reads; the plugin daemon and sandbox have none.
      .filter((environment) => environment.MODE !== undefined)
  );
}

describe('Aurora can pause once the backend sleeps (docs/adr/0021)', () => {
  let pausing: CfnTemplate;
  let alwaysOn: CfnTemplate;

  beforeAll(() => {
    pausing = synthTemplates().regional;
    alwaysOn = synthTemplates({ database: { ...DEFAULT_CONFIG.database, minAcu: 0.5 } }).regional;
  });

  afterAll(removeSynthOutputs);

  test('the cluster scales to 0 ACU and pauses after autoPauseSeconds, 300 by default', () => {
    expect(DEFAULT_CONFIG.database.minAcu).toBe(0);
    expect(DEFAULT_CONFIG.database.autoPauseSeconds).toBe(300);
    const [, cluster] = onlyResource(pausing, 'AWS::RDS::DBCluster');
    expect(propsOf(cluster).ServerlessV2ScalingConfiguration).toMatchObject({
      MinCapacity: 0,
      SecondsUntilAutoPause: 300,
    });
  });

  test('the Dify role gets idle_session_timeout in the main and plugin databases, shorter than the pause timer', () => {
    const [, databases] = onlyResource(pausing, 'Custom::DifyDatabases');
    const p = propsOf(databases);
    expect(p.IdleSessionTimeoutSeconds).toBe(String(IDLE_SESSION_TIMEOUT_SECONDS));
    expect(p.IdleSessionRole).toBe(Database.USERNAME);
    expect(p.IdleSessionDatabases).toEqual([Database.MAIN_DATABASE, Database.PLUGIN_DATABASE]);
    expect(IDLE_SESSION_TIMEOUT_SECONDS).toBeGreaterThanOrEqual(60);
    expect(IDLE_SESSION_TIMEOUT_SECONDS).toBeLessThan(DEFAULT_CONFIG.database.autoPauseSeconds);
  });

  test('every Dify client connects as that role', () => {
    expect(pluginDaemonEnvironment(pausing).DB_USERNAME).toBe(Database.USERNAME);
    const apiImage = difyApiEnvironments(pausing);
    expect(apiImage.length).toBeGreaterThan(0);
    for (const environment of apiImage) expect(environment.DB_USERNAME).toBe(Database.USERNAME);
    // The api function (lambda hosting) too.
    const functions = resourcesOfType(pausing, 'AWS::Lambda::Function').map(([, fn]) => lambdaEnvironment(fn));
    const withDatabase = functions.filter((environment) => environment.DB_HOST !== undefined);
    expect(withDatabase.length).toBeGreaterThan(0);
    for (const environment of withDatabase) expect(environment.DB_USERNAME).toBe(Database.USERNAME);
  });

  test('a cluster that never pauses resets the setting (0)', () => {
    const [, databases] = onlyResource(alwaysOn, 'Custom::DifyDatabases');
    expect(propsOf(databases).IdleSessionTimeoutSeconds).toBe('0');
  });

  test('the plugin daemon closes pooled connections before the server would', () => {
    const lifetime = Number(pluginDaemonEnvironment(pausing).DB_CONN_MAX_LIFETIME);
    expect(lifetime).toBeGreaterThan(0);
    // Go's cleaner closes an idle connection within about a second of its lifetime ending.
    expect(lifetime + 5).toBeLessThan(IDLE_SESSION_TIMEOUT_SECONDS);
  });

  test('Dify pre-pings pooled connections, so one the server ended is replaced, not failed', () => {
    const apiFunctions = resourcesOfType(pausing, 'AWS::Lambda::Function')
      .map(([, fn]) => lambdaEnvironment(fn))
      .filter((environment) => environment.DB_HOST !== undefined);
    const clients = [...difyApiEnvironments(pausing), ...apiFunctions];
    expect(apiFunctions.length).toBeGreaterThan(0);
    for (const environment of clients) expect(environment.SQLALCHEMY_POOL_PRE_PING).toBe('true');
  });
});

describeWithReference('Dify 1.13.3 honours the pre-ping (api/configs/middleware/__init__.py)', () => {
  test('SQLALCHEMY_POOL_PRE_PING is a setting and reaches the engine options as pool_pre_ping', () => {
    const source = readReference('api/configs/middleware/__init__.py');
    expect(source).toMatch(/SQLALCHEMY_POOL_PRE_PING: bool = Field\(/);
    expect(source).toMatch(/"pool_pre_ping": self\.SQLALCHEMY_POOL_PRE_PING,/);
    // The Flask app takes every setting as its config (api/app_factory.py), where Flask-SQLAlchemy reads
    // SQLALCHEMY_ENGINE_OPTIONS.
    expect(readReference('api/app_factory.py')).toContain('dify_app.config.from_mapping(dify_config.model_dump())');
  });
});
