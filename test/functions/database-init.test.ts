import { RDSDataClient } from '@aws-sdk/client-rds-data';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  createDatabaseInitHandler,
  DATABASES_PHYSICAL_RESOURCE_ID,
  type DatabaseInitOptions,
} from '../../functions/database-init';
import { startFakeRdsData, type FakeRdsData } from './fake-rds-data-server';
import { fakeCredentials } from './local-server';

const CLUSTER_ARN = 'arn:aws:rds:ap-northeast-1:123456789012:cluster:dify-aurora';
const SECRET_ARN = 'arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dify-aurora-admin-AbCdEf';

const properties = {
  ServiceToken: 'arn:aws:lambda:ap-northeast-1:123456789012:function:provider-framework-onEvent',
  ClusterArn: CLUSTER_ARN,
  SecretArn: SECRET_ARN,
  Databases: ['dify_pgvector', 'dify_plugin'],
  VectorDatabase: 'dify_pgvector',
};

const common = {
  ServiceToken: properties.ServiceToken,
  ResponseURL: 'https://cloudformation-custom-resource-response-apnortheast1.s3.amazonaws.com/signed',
  StackId: 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/DifyStack/5e0c6f70-0000-11f0-9000-0a1b2c3d4e5f',
  RequestId: '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  LogicalResourceId: 'DifyDatabases',
  ResourceType: 'Custom::DifyDatabases',
};

function createEvent(resourceProperties: Record<string, unknown> = properties): CloudFormationCustomResourceEvent {
  return {
    ...common,
    RequestType: 'Create',
    ResourceProperties: { ...resourceProperties, ServiceToken: common.ServiceToken },
  };
}

describe('database-init custom resource', () => {
  let rdsServer: FakeRdsData | undefined;
  let rdsData: RDSDataClient | undefined;
  let sleeps: number[];

  async function setUp(existingDatabases: string[], options: Partial<DatabaseInitOptions> = {}) {
    rdsServer = await startFakeRdsData({ existingDatabases });
    rdsData = new RDSDataClient({
      endpoint: rdsServer.endpoint,
      region: 'ap-northeast-1',
      credentials: fakeCredentials,
    });
    sleeps = [];
    const handler = createDatabaseInitHandler({
      rdsData,
      sleep: async (milliseconds) => {
        sleeps.push(milliseconds);
      },
      log: () => undefined,
      ...options,
    });
    return { server: rdsServer, handler };
  }

  afterEach(async () => {
    rdsData?.destroy();
    await rdsServer?.close();
    rdsServer = undefined;
    rdsData = undefined;
  });

  test('Create makes both missing databases and the vector extension in the vector database', async () => {
    const { server, handler } = await setUp([]);

    const response = await handler.onEvent(createEvent());

    expect(response).toEqual({
      PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID,
      Data: { Databases: 'dify_pgvector,dify_plugin' },
    });
    expect(server.databases).toEqual(new Set(['postgres', 'template0', 'template1', 'dify_pgvector', 'dify_plugin']));
    expect(server.extensions).toEqual(new Map([['dify_pgvector', new Set(['vector'])]]));
    expect(server.statements.map(({ sql, database }) => [sql, database])).toEqual([
      ['SELECT 1 FROM pg_database WHERE datname = :name', 'postgres'],
      ['CREATE DATABASE "dify_pgvector"', 'postgres'],
      ['SELECT 1 FROM pg_database WHERE datname = :name', 'postgres'],
      ['CREATE DATABASE "dify_plugin"', 'postgres'],
      ['CREATE EXTENSION IF NOT EXISTS vector', 'dify_pgvector'],
    ]);
    expect(server.statements[0].parameters).toEqual([{ name: 'name', value: { stringValue: 'dify_pgvector' } }]);
    expect(server.statements.every((s) => s.resourceArn === CLUSTER_ARN && s.secretArn === SECRET_ARN)).toBe(true);
  });

  test('existing databases are skipped, so a second run (Update) changes nothing and succeeds', async () => {
    const { server, handler } = await setUp(['dify_plugin']);

    await handler.onEvent(createEvent());
    const creates = server.statements.filter((s) => s.sql.startsWith('CREATE DATABASE'));
    expect(creates.map((s) => s.sql)).toEqual(['CREATE DATABASE "dify_pgvector"']);

    server.statements.length = 0;
    const update: CloudFormationCustomResourceEvent = {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID,
      ResourceProperties: properties,
      OldResourceProperties: properties,
    };
    await expect(handler.onEvent(update)).resolves.toEqual({
      PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID,
      Data: { Databases: 'dify_pgvector,dify_plugin' },
    });
    expect(server.statements.some((s) => s.sql.startsWith('CREATE DATABASE'))).toBe(false);
  });

  test('a resuming cluster is retried with growing waits until it answers', async () => {
    const { server, handler } = await setUp([], { initialDelayMs: 100, maxDelayMs: 250 });
    server.resumingResponsesLeft = 4;

    await handler.onEvent(createEvent());

    expect(sleeps).toEqual([100, 200, 250, 250]);
    expect(server.databases.has('dify_pgvector')).toBe(true);
    expect(server.databases.has('dify_plugin')).toBe(true);
    // The four refused calls were all the first statement, then the run went on normally.
    expect(server.statements.slice(0, 5).every((s) => s.sql.startsWith('SELECT 1 FROM pg_database'))).toBe(true);
  });

  test('a cluster that never resumes fails with a clear message after the default budget of about 3 minutes', async () => {
    const { server, handler } = await setUp([]);
    server.resumingResponsesLeft = Number.MAX_SAFE_INTEGER;

    const error: unknown = await handler.onEvent(createEvent()).catch((caught) => caught);

    const message = (error as Error).message;
    expect(message).toContain('step "check database dify_pgvector exists" gave up after 12 attempts');
    expect(message).toContain('DatabaseResumingException');
    expect(message).toContain(CLUSTER_ARN);
    expect(server.statements).toHaveLength(12);
    const totalWaitMs = sleeps.reduce((sum, milliseconds) => sum + milliseconds, 0);
    expect(totalWaitMs).toBeGreaterThanOrEqual(120_000);
    expect(totalWaitMs).toBeLessThanOrEqual(180_000);
  });

  test('any other Data API error fails at once naming the SQL step', async () => {
    const { server, handler } = await setUp([]);

    await expect(
      handler.onEvent(createEvent({ ...properties, Databases: ['dify_plugin'], VectorDatabase: 'dify_vectors' })),
    ).rejects.toThrow(
      'step "create extension vector in dify_vectors" failed: BadRequestException: FATAL: database "dify_vectors" does not exist',
    );
    expect(sleeps).toEqual([]);
    expect(server.statements.at(-1)?.database).toBe('dify_vectors');
  });

  test.each([
    ['Databases', { ...properties, Databases: ['dify_plugin', 'x"; DROP DATABASE dify; --'] }],
    ['Databases', { ...properties, Databases: ['Dify'] }],
    ['Databases', { ...properties, Databases: ['1dify'] }],
    ['Databases', { ...properties, Databases: ['d'.repeat(64)] }],
    ['VectorDatabase', { ...properties, VectorDatabase: 'pg-vector' }],
  ])('invalid %s name is rejected before any SQL runs', async (property, badProperties) => {
    const { server, handler } = await setUp([]);
    await expect(handler.onEvent(createEvent(badProperties))).rejects.toThrow(
      new RegExp(`${property} value .* is not an accepted database name`),
    );
    expect(server.statements).toHaveLength(0);
  });

  test.each(['ClusterArn', 'SecretArn', 'Databases', 'VectorDatabase'])(
    'missing %s is rejected before any SQL runs',
    async (property) => {
      const { server, handler } = await setUp([]);
      const incomplete: Record<string, unknown> = { ...properties };
      delete incomplete[property];
      await expect(handler.onEvent(createEvent(incomplete))).rejects.toThrow(`resource property ${property}`);
      expect(server.statements).toHaveLength(0);
    },
  );

  describe('idle_session_timeout for the Dify role (docs/adr/0021)', () => {
    const withTimeout = {
      ...properties,
      IdleSessionTimeoutSeconds: '120',
      IdleSessionRole: 'dify_admin',
      IdleSessionDatabases: ['dify', 'dify_plugin'],
    };
    const alterStatements = (server: FakeRdsData) =>
      server.statements.filter((s) => s.sql.startsWith('ALTER ROLE')).map(({ sql, database }) => [sql, database]);
    const update = (
      resourceProperties: Record<string, unknown>,
      oldResourceProperties: Record<string, unknown>,
    ): CloudFormationCustomResourceEvent => ({
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID,
      ResourceProperties: { ...resourceProperties, ServiceToken: common.ServiceToken },
      OldResourceProperties: { ...oldResourceProperties, ServiceToken: common.ServiceToken },
    });

    test('Create sets it per database after the databases exist, from the admin database', async () => {
      const { server, handler } = await setUp(['dify']);

      await handler.onEvent(createEvent(withTimeout));

      expect(alterStatements(server)).toEqual([
        [`ALTER ROLE "dify_admin" IN DATABASE "dify" SET idle_session_timeout = '120s'`, 'postgres'],
        [`ALTER ROLE "dify_admin" IN DATABASE "dify_plugin" SET idle_session_timeout = '120s'`, 'postgres'],
      ]);
      const sqls = server.statements.map((s) => s.sql);
      expect(sqls.indexOf('CREATE DATABASE "dify_plugin"')).toBeLessThan(
        sqls.findIndex((sql) => sql.includes('IN DATABASE "dify_plugin"')),
      );
      expect(server.roleSettings).toEqual(
        new Map([
          ['dify_admin@dify', new Map([['idle_session_timeout', '120s']])],
          ['dify_admin@dify_plugin', new Map([['idle_session_timeout', '120s']])],
        ]),
      );
      // The vector database keeps no timeout: Dify's pgvector pool has no liveness check.
      expect(server.roleSettings.has('dify_admin@dify_pgvector')).toBe(false);
    });

    test('is idempotent: an Update with the same properties sends the same statements and ends in the same state', async () => {
      const { server, handler } = await setUp(['dify']);
      await handler.onEvent(createEvent(withTimeout));
      const first = alterStatements(server);
      const stateAfterCreate = new Map([...server.roleSettings].map(([key, value]) => [key, new Map(value)]));

      server.statements.length = 0;
      await expect(handler.onEvent(update(withTimeout, withTimeout))).resolves.toEqual({
        PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID,
        Data: { Databases: 'dify_pgvector,dify_plugin' },
      });

      expect(alterStatements(server)).toEqual(first);
      expect(server.roleSettings).toEqual(stateAfterCreate);
    });

    test('an Update that adds the setting to an older deployment applies it', async () => {
      const { server, handler } = await setUp(['dify', 'dify_pgvector', 'dify_plugin']);

      await handler.onEvent(update(withTimeout, properties));

      expect(server.roleSettings.get('dify_admin@dify')?.get('idle_session_timeout')).toBe('120s');
      expect(server.roleSettings.get('dify_admin@dify_plugin')?.get('idle_session_timeout')).toBe('120s');
    });

    test('a changed value replaces the old one; a database dropped from the list is reset', async () => {
      const { server, handler } = await setUp(['dify']);
      await handler.onEvent(createEvent(withTimeout));

      server.statements.length = 0;
      await handler.onEvent(
        update({ ...withTimeout, IdleSessionTimeoutSeconds: '90', IdleSessionDatabases: ['dify'] }, withTimeout),
      );

      expect(alterStatements(server)).toEqual([
        [`ALTER ROLE "dify_admin" IN DATABASE "dify_plugin" RESET idle_session_timeout`, 'postgres'],
        [`ALTER ROLE "dify_admin" IN DATABASE "dify" SET idle_session_timeout = '90s'`, 'postgres'],
      ]);
      expect(server.roleSettings).toEqual(new Map([['dify_admin@dify', new Map([['idle_session_timeout', '90s']])]]));
    });

    test('0 resets it (a cluster that never pauses), and so does removing the properties', async () => {
      const { server, handler } = await setUp(['dify']);
      await handler.onEvent(createEvent(withTimeout));

      await handler.onEvent(update({ ...withTimeout, IdleSessionTimeoutSeconds: '0' }, withTimeout));
      expect(server.roleSettings).toEqual(new Map());

      await handler.onEvent(createEvent(withTimeout));
      server.statements.length = 0;
      await handler.onEvent(update(properties, withTimeout));
      expect(alterStatements(server)).toEqual([
        [`ALTER ROLE "dify_admin" IN DATABASE "dify" RESET idle_session_timeout`, 'postgres'],
        [`ALTER ROLE "dify_admin" IN DATABASE "dify_plugin" RESET idle_session_timeout`, 'postgres'],
      ]);
      expect(server.roleSettings).toEqual(new Map());
    });

    test('without the properties no ALTER ROLE is sent', async () => {
      const { server, handler } = await setUp([]);
      await handler.onEvent(createEvent());
      expect(alterStatements(server)).toEqual([]);
    });

    test.each([
      ['IdleSessionTimeoutSeconds', { ...withTimeout, IdleSessionTimeoutSeconds: '2m' }, /not a whole number/],
      ['IdleSessionTimeoutSeconds', { ...withTimeout, IdleSessionTimeoutSeconds: '-1' }, /not a whole number/],
      ['IdleSessionTimeoutSeconds', { ...withTimeout, IdleSessionTimeoutSeconds: '86401' }, /not a whole number/],
      ['IdleSessionRole', { ...withTimeout, IdleSessionRole: 'x"; DROP ROLE y; --' }, /not an accepted/],
      ['IdleSessionDatabases', { ...withTimeout, IdleSessionDatabases: [] }, /at least one value/],
      ['IdleSessionDatabases', { ...withTimeout, IdleSessionDatabases: ['Dify'] }, /not an accepted/],
    ])('invalid %s is rejected before any SQL runs', async (property, badProperties, message) => {
      const { server, handler } = await setUp([]);
      const error = (await handler.onEvent(createEvent(badProperties)).catch((caught) => caught)) as Error;
      expect(error.message).toContain(property);
      expect(error.message).toMatch(message);
      expect(server.statements).toHaveLength(0);
    });
  });

  test('Delete keeps the databases and runs no SQL', async () => {
    const { server, handler } = await setUp(['dify_pgvector', 'dify_plugin']);
    const event: CloudFormationCustomResourceEvent = {
      ...common,
      RequestType: 'Delete',
      PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID,
      ResourceProperties: properties,
    };
    await expect(handler.onEvent(event)).resolves.toEqual({ PhysicalResourceId: DATABASES_PHYSICAL_RESOURCE_ID });
    expect(server.statements).toHaveLength(0);
    expect(server.databases.has('dify_plugin')).toBe(true);
  });
});
