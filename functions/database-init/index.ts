/**
 * Custom resource (CDK Provider framework, onEvent only) that creates Dify's extra databases in Aurora
 * PostgreSQL (e.g. `dify_plugin` for the plugin daemon, a pgvector database) and the `vector` extension,
 * through the RDS Data API so the Lambda function needs no VPC attachment.
 */
import { ExecuteStatementCommand, RDSDataClient, type SqlParameter } from '@aws-sdk/client-rds-data';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  describeError,
  logJsonLine,
  readOptionalString,
  readRequiredString,
  readStringList,
  type LogLine,
  type ResourceProperties,
} from '../shared/custom-resource';

export const DATABASES_PHYSICAL_RESOURCE_ID = 'dify-databases';
const RESOURCE_LABEL = 'Dify database init';
// Every RDS for PostgreSQL / Aurora PostgreSQL cluster has a `postgres` database the master user can
// reach; pg_database is cluster-wide, so that connection sees (and can create) every database.
const DEFAULT_ADMIN_DATABASE = 'postgres';
// CREATE DATABASE cannot take a bind parameter, so the name is spliced into the SQL; only plain lower-case
// identifiers of at most 63 bytes (PostgreSQL's NAMEDATALEN - 1) are accepted, which makes that safe.
const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
// PostgreSQL accepts idle_session_timeout up to INT_MAX milliseconds; a day is far beyond any sensible value here.
const MAX_IDLE_SESSION_TIMEOUT_SECONDS = 86_400;

// Aurora Serverless v2 at 0 ACU pauses; the Data API answers DatabaseResumingException while it wakes
// (RDS Data API reference, errors) and the writer can briefly be DatabaseUnavailableException. Resuming
// takes seconds to tens of seconds, so the default budget (2+4+8+16+20*7 s ≈ 2.8 min) leaves margin.
const TRANSIENT_ERROR_NAMES = new Set(['DatabaseResumingException', 'DatabaseUnavailableException']);
const DEFAULT_MAX_ATTEMPTS = 12;
const DEFAULT_INITIAL_DELAY_MS = 2_000;
const DEFAULT_MAX_DELAY_MS = 20_000;

/**
 * `idle_session_timeout` for one role in some databases (`ALTER ROLE … IN DATABASE … SET`), so that sessions a client
 * left idle end server-side and a 0-ACU Aurora cluster can pause (docs/adr/0021). 0 resets the setting.
 */
export interface IdleSessionSettings {
  readonly timeoutSeconds: number;
  readonly role: string;
  readonly databases: string[];
}

export interface DatabaseInitSettings {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly databases: string[];
  readonly vectorDatabase: string;
  readonly adminDatabase: string;
  readonly idleSessions?: IdleSessionSettings;
}

export interface DatabaseInitResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly Databases: string };
}

export interface DatabaseInitOptions {
  readonly rdsData: RDSDataClient;
  /** Wait between retries of a resuming cluster; injectable so tests do not sleep. */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** Attempts per SQL statement, the first one included. */
  readonly maxAttempts?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly log?: LogLine;
}

export interface DatabaseInitHandler {
  onEvent(event: CloudFormationCustomResourceEvent): Promise<DatabaseInitResponse>;
}

function readDatabaseName(value: string, property: string): string {
  if (!DATABASE_NAME_PATTERN.test(value)) {
    throw new Error(
      `${RESOURCE_LABEL}: ${property} value ${JSON.stringify(value)} is not an accepted database name ` +
        `(lower-case letters, digits and _; must not start with a digit; at most 63 characters)`,
    );
  }
  return value;
}

function readIdleSessionSettings(properties: ResourceProperties): IdleSessionSettings | undefined {
  // CloudFormation hands every custom resource property over as a string.
  const timeout = readOptionalString(properties, 'IdleSessionTimeoutSeconds', RESOURCE_LABEL);
  if (timeout === undefined) return undefined;
  const timeoutSeconds = Number(timeout);
  if (!/^\d+$/.test(timeout) || timeoutSeconds > MAX_IDLE_SESSION_TIMEOUT_SECONDS) {
    throw new Error(
      `${RESOURCE_LABEL}: IdleSessionTimeoutSeconds value ${JSON.stringify(timeout)} is not a whole number of ` +
        `seconds from 0 (reset) to ${MAX_IDLE_SESSION_TIMEOUT_SECONDS}`,
    );
  }
  const databases = readStringList(properties, 'IdleSessionDatabases', RESOURCE_LABEL, { allowEmpty: false }).map(
    (name) => readDatabaseName(name, 'IdleSessionDatabases'),
  );
  return {
    timeoutSeconds,
    // Role names follow the same rule as database names here: they are spliced into the SQL too.
    role: readDatabaseName(readRequiredString(properties, 'IdleSessionRole', RESOURCE_LABEL), 'IdleSessionRole'),
    databases: [...new Set(databases)],
  };
}

export function readDatabaseInitSettings(properties: ResourceProperties): DatabaseInitSettings {
  const databases = readStringList(properties, 'Databases', RESOURCE_LABEL, { allowEmpty: true }).map((name) =>
    readDatabaseName(name, 'Databases'),
  );
  return {
    clusterArn: readRequiredString(properties, 'ClusterArn', RESOURCE_LABEL),
    secretArn: readRequiredString(properties, 'SecretArn', RESOURCE_LABEL),
    databases: [...new Set(databases)],
    vectorDatabase: readDatabaseName(
      readRequiredString(properties, 'VectorDatabase', RESOURCE_LABEL),
      'VectorDatabase',
    ),
    adminDatabase: readDatabaseName(
      readOptionalString(properties, 'AdminDatabase', RESOURCE_LABEL) ?? DEFAULT_ADMIN_DATABASE,
      'AdminDatabase',
    ),
    idleSessions: readIdleSessionSettings(properties),
  };
}

/**
 * The statement that gives `role` sessions in `database` the timeout (or resets it). ALTER ROLE … SET only stores a
 * default for new sessions (pg_db_role_setting), so running it again changes nothing: idempotent. A role may set its
 * own defaults, and idle_session_timeout is a user-settable parameter (PostgreSQL 16 docs, "ALTER ROLE",
 * "idle_session_timeout").
 */
export function idleSessionStatement(role: string, database: string, timeoutSeconds: number): string {
  const target = `ALTER ROLE "${role}" IN DATABASE "${database}"`;
  return timeoutSeconds > 0
    ? `${target} SET idle_session_timeout = '${timeoutSeconds}s'`
    : `${target} RESET idle_session_timeout`;
}

const sleepFor = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

export function createDatabaseInitHandler(options: DatabaseInitOptions): DatabaseInitHandler {
  const { rdsData } = options;
  const sleep = options.sleep ?? sleepFor;
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const initialDelayMs = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const log = options.log ?? logJsonLine;

  async function execute(
    settings: DatabaseInitSettings,
    step: string,
    statement: { sql: string; database: string; parameters?: SqlParameter[] },
  ) {
    let waitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      log({ step, attempt, database: statement.database });
      try {
        return await rdsData.send(
          new ExecuteStatementCommand({
            resourceArn: settings.clusterArn,
            secretArn: settings.secretArn,
            sql: statement.sql,
            database: statement.database,
            parameters: statement.parameters,
          }),
        );
      } catch (error) {
        const errorName = error instanceof Error ? error.name : '';
        if (!TRANSIENT_ERROR_NAMES.has(errorName)) {
          throw new Error(`${RESOURCE_LABEL}: step "${step}" failed: ${describeError(error)}`);
        }
        if (attempt >= maxAttempts) {
          throw new Error(
            `${RESOURCE_LABEL}: step "${step}" gave up after ${attempt} attempts over ${Math.round(waitedMs / 1000)} s ` +
              `because Aurora cluster ${settings.clusterArn} is still not available (${describeError(error)}); ` +
              `it is probably resuming from 0 ACU — retry the deployment in a minute`,
          );
        }
        const delayMs = Math.min(initialDelayMs * 2 ** (attempt - 1), maxDelayMs);
        log({ step, retryInMs: delayMs, reason: errorName });
        await sleep(delayMs);
        waitedMs += delayMs;
      }
    }
  }

  async function ensureDatabase(settings: DatabaseInitSettings, name: string): Promise<void> {
    const existing = await execute(settings, `check database ${name} exists`, {
      sql: 'SELECT 1 FROM pg_database WHERE datname = :name',
      database: settings.adminDatabase,
      parameters: [{ name: 'name', value: { stringValue: name } }],
    });
    if ((existing.records ?? []).length > 0) {
      log({ step: `database ${name} exists`, action: 'skip' });
      return;
    }
    try {
      await execute(settings, `create database ${name}`, {
        sql: `CREATE DATABASE "${name}"`,
        database: settings.adminDatabase,
      });
    } catch (error) {
      // Another run (e.g. a CloudFormation retry) created it between the check and here: same end state.
      if (error instanceof Error && error.message.includes('already exists')) {
        log({ step: `create database ${name}`, action: 'already created concurrently' });
        return;
      }
      throw error;
    }
  }

  /** Sets the timeout where asked, and resets it where an earlier deployment set it and this one no longer does. */
  async function applyIdleSessionTimeouts(settings: DatabaseInitSettings, oldProperties?: ResourceProperties) {
    const wanted = settings.idleSessions;
    let previous: IdleSessionSettings | undefined;
    try {
      previous = oldProperties ? readIdleSessionSettings(oldProperties) : undefined;
    } catch (error) {
      // Whatever an older template said was applied or refused then; it must not block this deployment.
      log({ step: 'previous idle session settings unreadable', error: describeError(error) });
    }
    const changes: Array<{ role: string; database: string; timeoutSeconds: number }> = [];
    if (previous && previous.timeoutSeconds > 0) {
      for (const database of previous.databases) {
        const stillSet = wanted?.role === previous.role && wanted.databases.includes(database);
        if (!stillSet) changes.push({ role: previous.role, database, timeoutSeconds: 0 });
      }
    }
    if (wanted) {
      for (const database of wanted.databases) {
        changes.push({ role: wanted.role, database, timeoutSeconds: wanted.timeoutSeconds });
      }
    }
    for (const { role, database, timeoutSeconds } of changes) {
      await execute(settings, `idle_session_timeout ${timeoutSeconds || 'reset'} for ${role} in ${database}`, {
        sql: idleSessionStatement(role, database, timeoutSeconds),
        database: settings.adminDatabase,
      });
    }
  }

  async function onEvent(event: CloudFormationCustomResourceEvent): Promise<DatabaseInitResponse> {
    if (event.RequestType === 'Delete') {
      // Databases hold Dify's data (plugins, vectors): they are kept when the stack or resource goes.
      log({ step: 'delete', detail: 'nothing to do; databases are kept' });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const settings = readDatabaseInitSettings(event.ResourceProperties);
    log({ step: 'start', requestType: event.RequestType, databases: settings.databases });
    for (const name of settings.databases) {
      await ensureDatabase(settings, name);
    }
    await execute(settings, `create extension vector in ${settings.vectorDatabase}`, {
      sql: 'CREATE EXTENSION IF NOT EXISTS vector',
      database: settings.vectorDatabase,
    });
    await applyIdleSessionTimeouts(settings, event.RequestType === 'Update' ? event.OldResourceProperties : undefined);
    log({ step: 'done', databases: settings.databases });
    return {
      PhysicalResourceId: event.RequestType === 'Update' ? event.PhysicalResourceId : DATABASES_PHYSICAL_RESOURCE_ID,
      Data: { Databases: settings.databases.join(',') },
    };
  }

  return { onEvent };
}

let defaultHandler: DatabaseInitHandler | undefined;

/** Built on first use so that importing this module (tests, bundling) never needs AWS configuration. */
export const onEvent = (event: CloudFormationCustomResourceEvent): Promise<DatabaseInitResponse> => {
  defaultHandler ??= createDatabaseInitHandler({ rdsData: new RDSDataClient({}) });
  return defaultHandler.onEvent(event);
};

/** Alias of onEvent for a plain `handler` entry point. */
export const handler = onEvent;
