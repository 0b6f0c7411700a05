/**
 * Stand-in for the RDS Data API on 127.0.0.1, speaking its restJson1 wire protocol: `POST /Execute`
 * with a JSON ExecuteStatement body; errors carry the type in the `x-amzn-errortype` header and
 * `{"message"}` in the body. It keeps databases and extensions in memory, understands only the
 * statements the database-init handler sends, and records every call.
 */
import { Hono } from 'hono';
import { startLocalServer, type LocalServer } from './local-server';

export interface RecordedStatement {
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly sql: string;
  readonly database: string | undefined;
  readonly parameters: Array<{ name: string; value: Record<string, unknown> }> | undefined;
}

export interface FakeRdsData extends LocalServer {
  readonly statements: RecordedStatement[];
  readonly databases: Set<string>;
  /** database name → extensions created in it */
  readonly extensions: Map<string, Set<string>>;
  /**
   * Per-role, per-database defaults as pg_db_role_setting keeps them (`ALTER ROLE … IN DATABASE … SET`):
   * `<role>@<database>` → parameter → value.
   */
  readonly roleSettings: Map<string, Map<string, string>>;
  /** How many upcoming calls answer DatabaseResumingException, as a cluster waking from 0 ACU does. */
  resumingResponsesLeft: number;
}

function errorResponse(errorType: string, message: string, status = 400): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': errorType },
  });
}

function jsonResponse(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
}

export async function startFakeRdsData(options: {
  existingDatabases: string[];
  /** Roles that exist. @default ['dify_admin'] (the master user the secret names) */
  roles?: string[];
}): Promise<FakeRdsData> {
  const databases = new Set(['postgres', 'template0', 'template1', ...options.existingDatabases]);
  const roles = new Set(options.roles ?? ['dify_admin']);
  const extensions = new Map<string, Set<string>>();
  const roleSettings = new Map<string, Map<string, string>>();
  const statements: RecordedStatement[] = [];
  const state = { resumingResponsesLeft: 0 };
  const app = new Hono();

  app.post('/Execute', async (c) => {
    if (!(c.req.header('authorization') ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      return errorResponse('UnrecognizedClientException', 'request is not signed', 403);
    }
    const body = (await c.req.json()) as Partial<RecordedStatement>;
    if (typeof body.resourceArn !== 'string' || typeof body.secretArn !== 'string' || typeof body.sql !== 'string') {
      return errorResponse('BadRequestException', 'resourceArn, secretArn and sql are required');
    }
    const statement: RecordedStatement = {
      resourceArn: body.resourceArn,
      secretArn: body.secretArn,
      sql: body.sql,
      database: body.database,
      parameters: body.parameters,
    };
    statements.push(statement);
    if (state.resumingResponsesLeft > 0) {
      state.resumingResponsesLeft--;
      return errorResponse(
        'DatabaseResumingException',
        `The Aurora DB instance ${body.resourceArn} is resuming after being auto-paused. Please wait a few seconds and try again.`,
      );
    }
    const connectedTo = statement.database ?? 'postgres';
    if (!databases.has(connectedTo)) {
      return errorResponse('BadRequestException', `FATAL: database "${connectedTo}" does not exist`);
    }

    if (statement.sql === 'SELECT 1 FROM pg_database WHERE datname = :name') {
      const nameParameter = statement.parameters?.find((parameter) => parameter.name === 'name');
      const name = nameParameter?.value.stringValue;
      if (typeof name !== 'string') {
        return errorResponse('BadRequestException', 'No value specified for parameter :name');
      }
      return jsonResponse({ records: databases.has(name) ? [[{ longValue: 1 }]] : [], numberOfRecordsUpdated: 0 });
    }
    const createDatabase = /^CREATE DATABASE "([a-z0-9_]+)"$/.exec(statement.sql);
    if (createDatabase) {
      const name = createDatabase[1];
      if (databases.has(name)) {
        return errorResponse('BadRequestException', `ERROR: database "${name}" already exists`);
      }
      databases.add(name);
      return jsonResponse({ records: [], numberOfRecordsUpdated: 0 });
    }
    if (statement.sql === 'CREATE EXTENSION IF NOT EXISTS vector') {
      const installed = extensions.get(connectedTo) ?? new Set<string>();
      installed.add('vector');
      extensions.set(connectedTo, installed);
      return jsonResponse({ records: [], numberOfRecordsUpdated: 0 });
    }
    const alterRole =
      /^ALTER ROLE "([a-z0-9_]+)" IN DATABASE "([a-z0-9_]+)" (?:SET ([a-z_]+) = '([^']*)'|RESET ([a-z_]+))$/.exec(
        statement.sql,
      );
    if (alterRole) {
      const [, role, database, setName, setValue, resetName] = alterRole;
      if (!roles.has(role)) return errorResponse('BadRequestException', `ERROR: role "${role}" does not exist`);
      if (!databases.has(database)) {
        return errorResponse('BadRequestException', `ERROR: database "${database}" does not exist`);
      }
      const key = `${role}@${database}`;
      const current = roleSettings.get(key) ?? new Map<string, string>();
      if (setName !== undefined) current.set(setName, setValue);
      else current.delete(resetName);
      if (current.size > 0) roleSettings.set(key, current);
      else roleSettings.delete(key);
      return jsonResponse({ records: [], numberOfRecordsUpdated: 0 });
    }
    return errorResponse('BadRequestException', `ERROR: this stand-in does not understand: ${statement.sql}`);
  });

  const server = await startLocalServer(app);
  return {
    ...server,
    statements,
    databases,
    extensions,
    roleSettings,
    get resumingResponsesLeft() {
      return state.resumingResponsesLeft;
    },
    set resumingResponsesLeft(value) {
      state.resumingResponsesLeft = value;
    },
  };
}
