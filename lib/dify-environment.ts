import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { createHash } from 'node:crypto';
import { Cache } from './constructs/cache';
import { Database } from './constructs/database';
import { DifySecretField } from './constructs/dify-secrets';
import { SITE_URL_FIELD } from './constructs/site-url';
import { withoutDifyDefaults } from './dify-defaults';

/** A value that must reach a container as a secret: a whole secret, or one JSON field of it. */
export interface SecretRef {
  readonly secret: secretsmanager.ISecret;
  readonly field?: string;
}

/**
 * What one Dify container needs: plain settings, secrets, and templates — values built from secrets at start-up
 * (e.g. the Celery broker URL embeds the Redis password). Templates use `${NAME}` placeholders naming other
 * variables; they are expanded inside the container so the composed value never appears in a template.
 */
export interface ContainerSettings {
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, SecretRef>;
  readonly templates: Record<string, string>;
}

/** Everything the Dify settings are derived from. */
export interface DifyDependencies {
  readonly region: string;
  /**
   * `https://<custom domain>`, or '' without one. Known at synth time, unlike the distribution's name: the api-image
   * containers get the full public URL from `siteUrlSecret` instead.
   */
  readonly siteUrl: string;
  readonly databaseHost: string;
  readonly databaseSecret: secretsmanager.ISecret;
  readonly redisHost: string;
  readonly bucketName: string;
  /** Dify's one shared secret, a JSON field per key (constructs/dify-secrets.ts). */
  readonly difySecret: secretsmanager.ISecret;
  /** Holds the public site URL under `siteUrl` (see constructs/site-url.ts). */
  readonly siteUrlSecret: secretsmanager.ISecret;
  /** `http://host:8194` of dify-sandbox as seen by this container. */
  readonly sandboxEndpoint: string;
  /** `http://host:5002` of the plugin daemon as seen by this container. */
  readonly pluginDaemonEndpoint: string;
}

/** A field of Dify's shared secret. */
function difyKey(deps: DifyDependencies, field: DifySecretField): SecretRef {
  return { secret: deps.difySecret, field };
}

export const SANDBOX_PORT = 8194;
export const PLUGIN_DAEMON_PORT = 5002;
/**
 * The plugin daemon's PLUGIN_WORKING_PATH: one directory per installed plugin with its unpacked code and Python
 * virtual environment (internal/core/local_runtime/constructor.go:61-84 of dify-plugin-daemon 0.5.3). Kept on EFS
 * (lib/constructs/plugin-storage.ts, docs/adr/0020).
 */
export const PLUGIN_WORKING_PATH = '/app/storage/cwd';
export const API_PORT = 5001;
export const WEB_PORT = 3000;

/**
 * Celery uses Redis database 1, Dify's caches database 0 (as in Dify's docker/.env.example). Celery refuses a
 * `rediss://` URL without `ssl_cert_reqs` (kombu/celery Redis transport); ElastiCache presents a certificate from a
 * public Amazon CA, so it is verified. `$REDIS_PASSWORD` is expanded inside the container (bash in ECS, the secrets
 * loader on Lambda); the generated token is alphanumeric, so it needs no URL escaping.
 */
const CELERY_BROKER_TEMPLATE = `rediss://:$REDIS_PASSWORD@$REDIS_HOST:${Cache.PORT}/1?ssl_cert_reqs=required`;

/**
 * The URL the console shows for a plugin endpoint. Dify's default is `http://localhost:5002/e/{hook_id}`
 * (api/configs/feature/__init__.py:316 of Dify 1.13.3); CloudFront routes `/e/*` to the plugin daemon through the
 * upload relay (docs/adr/0016), so it is the site URL plus `/e/{hook_id}`. `$CONSOLE_API_URL` (the site URL) is
 * expanded inside the container like the other templates; `{hook_id}` has no `$`, so it stays for Dify to fill.
 */
export const ENDPOINT_URL_TEMPLATE_VALUE = '$CONSOLE_API_URL/e/{hook_id}';

/**
 * Dify settings that must hold the public site URL (docker/.env.example). Empty, Dify falls back to the request's
 * Host — the function URL's behind OAC — and issues cookies without `Secure`.
 */
export const SITE_URL_SETTINGS = [
  'CONSOLE_WEB_URL',
  'CONSOLE_API_URL',
  'SERVICE_API_URL',
  'APP_WEB_URL',
  'FILES_URL',
  'TRIGGER_URL',
] as const;

/** `cloudfront-default` without a custom domain, else 16 hex characters of the site URL's SHA-256. */
export function siteMarker(siteUrl: string): string {
  return siteUrl === '' ? 'cloudfront-default' : createHash('sha256').update(siteUrl).digest('hex').slice(0, 16);
}

/** How one dify-api-image container differs from the others. */
export interface ApiImageRole {
  /** Dify's entrypoint mode (api/docker/entrypoint.sh: api, worker or beat). */
  readonly mode: 'api' | 'worker' | 'beat';
  /**
   * Give this container `INTERNAL_FILES_URL=http://localhost:5001`, so the file URLs it signs for plugins reach the
   * internal api that shares the plugin daemon's task. Containers that index documents must NOT have it: Dify writes
   * `INTERNAL_FILES_URL or FILES_URL` into the image links of chunks it extracts from PDF/DOCX files, and a browser
   * cannot load localhost (docs/adr/0013).
   * @default false
   */
  readonly signsPluginFileUrls?: boolean;
}

/**
 * Settings shared by every container running the dify-api image (api on Lambda, internal api, workers, beat,
 * migration). Names and meanings follow Dify 1.13.3's api/configs/ (pydantic settings) and docker/.env.example.
 */
export function difyApiImageSettings(deps: DifyDependencies, role: ApiImageRole): ContainerSettings {
  const environment: Record<string, string> = {
    MODE: role.mode,
    LOG_LEVEL: 'INFO',
    DEPLOY_ENV: 'PRODUCTION',
    // Migrations run once per deploy in a dedicated ECS task (docs/adr/0003), never on every start.
    MIGRATION_ENABLED: 'false',
    // Changes with the custom domain, so a domain change restarts the backend tasks (which re-read the site URL)
    // and publishes a new api version; without a domain the distribution's name never changes. A short hash, not
    // the domain itself: a 253-character domain would cost the api function's 4 KB environment as many bytes.
    DIFY_EDGE_SITE_DOMAIN: siteMarker(deps.siteUrl),
    ...(role.signsPluginFileUrls ? { INTERNAL_FILES_URL: `http://localhost:${API_PORT}` } : {}),
    // The code default is true (api/configs/feature/__init__.py:1328, SwaggerUIConfig), unlike compose's false:
    // without this, the OpenAPI specs and UI pages of every api blueprint are public.
    SWAGGER_UI_ENABLED: 'false',
    // Empty turns off the update check (api/configs/feature/__init__.py:688, UpdateConfig) that the unauthenticated
    // GET /console/api/version makes to updates.dify.ai on every call, with a 10 s timeout.
    CHECK_UPDATE_URL: '',
    DB_TYPE: 'postgresql',
    DB_USERNAME: Database.USERNAME,
    DB_HOST: deps.databaseHost,
    DB_PORT: String(Database.PORT),
    DB_DATABASE: Database.MAIN_DATABASE,
    // Aurora may pause or fail over; a pre-ping drops dead pooled connections instead of failing a request.
    SQLALCHEMY_POOL_PRE_PING: 'true',
    // Appended to the SQLAlchemy URL; psycopg2's default `prefer` would fall back to plain text silently.
    DB_EXTRAS: 'sslmode=require',
    // Dify's pgvector client passes no sslmode (api/configs/middleware/vdb/pgvector_config.py has none), and libpq
    // takes the default from PGSSLMODE (PostgreSQL docs, "libpq Environment Variables"): require TLS there too.
    PGSSLMODE: 'require',
    REDIS_HOST: deps.redisHost,
    REDIS_PORT: String(Cache.PORT),
    REDIS_DB: '0',
    REDIS_USE_SSL: 'true',
    // Dify's own Redis clients (cache, locks, pub/sub) and Celery's SSL options default to CERT_NONE; ElastiCache
    // presents a certificate from a public Amazon CA, so verify it. Only the upper-case name is recognised.
    REDIS_SSL_CERT_REQS: 'CERT_REQUIRED',
    CELERY_BACKEND: 'redis',
    STORAGE_TYPE: 's3',
    S3_BUCKET_NAME: deps.bucketName,
    S3_REGION: deps.region,
    S3_USE_AWS_MANAGED_IAM: 'true',
    VECTOR_STORE: 'pgvector',
    PGVECTOR_PORT: String(Database.PORT),
    PGVECTOR_USER: Database.USERNAME,
    PGVECTOR_DATABASE: Database.VECTOR_DATABASE,
    CODE_EXECUTION_ENDPOINT: deps.sandboxEndpoint,
    PLUGIN_DAEMON_URL: deps.pluginDaemonEndpoint,
    MARKETPLACE_ENABLED: 'true',
    // The api's own default (15 MB) is below the plugin daemon's 50 MB (MAX_PLUGIN_PACKAGE_SIZE), as in Dify's compose.
    PLUGIN_MAX_PACKAGE_SIZE: '52428800',
  };
  return {
    environment: withoutDifyDefaults(environment),
    secrets: {
      SECRET_KEY: difyKey(deps, 'secretKey'),
      DB_PASSWORD: { secret: deps.databaseSecret, field: 'password' },
      PGVECTOR_PASSWORD: { secret: deps.databaseSecret, field: 'password' },
      REDIS_PASSWORD: difyKey(deps, 'redisAuthToken'),
      CODE_EXECUTION_API_KEY: difyKey(deps, 'sandboxApiKey'),
      PLUGIN_DAEMON_KEY: difyKey(deps, 'pluginDaemonKey'),
      INNER_API_KEY_FOR_PLUGIN: difyKey(deps, 'innerApiKey'),
      INIT_PASSWORD: difyKey(deps, 'initPassword'),
      ...Object.fromEntries(
        SITE_URL_SETTINGS.map((name) => [name, { secret: deps.siteUrlSecret, field: SITE_URL_FIELD }]),
      ),
    },
    // The same host twice would cost the api function's 4 KB environment a second long endpoint name.
    templates: {
      CELERY_BROKER_URL: CELERY_BROKER_TEMPLATE,
      PGVECTOR_HOST: '$DB_HOST',
      ENDPOINT_URL_TEMPLATE: ENDPOINT_URL_TEMPLATE_VALUE,
    },
  };
}

/** gunicorn settings read by Dify's api entrypoint. One gevent worker: Lambda serves one request per environment. */
export function apiServerEnvironment(timeoutSeconds: number, workers: number): Record<string, string> {
  return withoutDifyDefaults({
    DIFY_BIND_ADDRESS: '0.0.0.0',
    DIFY_PORT: String(API_PORT),
    SERVER_WORKER_AMOUNT: String(workers),
    SERVER_WORKER_CLASS: 'gevent',
    SERVER_WORKER_CONNECTIONS: '100',
    GUNICORN_TIMEOUT: String(timeoutSeconds),
  });
}

/** dify-plugin-daemon settings (Dify docker/.env.example, "Plugin Daemon" section). */
export function pluginDaemonSettings(deps: DifyDependencies, innerApiUrl: string): ContainerSettings {
  return {
    environment: {
      DB_HOST: deps.databaseHost,
      DB_PORT: String(Database.PORT),
      DB_USERNAME: Database.USERNAME,
      DB_DATABASE: Database.PLUGIN_DATABASE,
      DB_SSL_MODE: 'require',
      // Close pooled connections before Aurora's idle_session_timeout (IDLE_SESSION_TIMEOUT_SECONDS, 120 s) does.
      // The daemon's pool is database/sql over pgx (gorm.io/driver/postgres) and sets only a lifetime
      // (internal/db/pg/pg.go:76-79, internal/types/app/config.go:144-147 of dify-plugin-daemon 0.5.3; no max
      // idle time), and Go's connection cleaner closes an idle connection as soon as its lifetime ends, so none
      // sits idle for more than about 90 s. A connection the server ends anyway is found by pgx's ping before
      // reuse and replaced (jackc/pgx v5.5.5 stdlib/sql.go:541-552, database/sql retries on driver.ErrBadConn).
      DB_CONN_MAX_LIFETIME: '90',
      REDIS_HOST: deps.redisHost,
      REDIS_PORT: String(Cache.PORT),
      REDIS_USE_SSL: 'true',
      SERVER_PORT: String(PLUGIN_DAEMON_PORT),
      MAX_PLUGIN_PACKAGE_SIZE: '52428800',
      PPROF_ENABLED: 'false',
      DIFY_INNER_API_URL: innerApiUrl,
      PLUGIN_REMOTE_INSTALLING_HOST: '0.0.0.0',
      PLUGIN_REMOTE_INSTALLING_PORT: '5003',
      PLUGIN_WORKING_PATH,
      FORCE_VERIFYING_SIGNATURE: 'true',
      PYTHON_ENV_INIT_TIMEOUT: '120',
      PLUGIN_MAX_EXECUTION_TIMEOUT: '600',
      PLUGIN_STORAGE_TYPE: 'aws_s3',
      PLUGIN_STORAGE_OSS_BUCKET: deps.bucketName,
      PLUGIN_INSTALLED_PATH: 'plugin',
      PLUGIN_PACKAGE_CACHE_PATH: 'plugin_packages',
      PLUGIN_MEDIA_CACHE_PATH: 'assets',
      S3_USE_AWS_MANAGED_IAM: 'true',
      S3_USE_AWS: 'true',
      AWS_REGION: deps.region,
    },
    secrets: {
      DB_PASSWORD: { secret: deps.databaseSecret, field: 'password' },
      REDIS_PASSWORD: difyKey(deps, 'redisAuthToken'),
      SERVER_KEY: difyKey(deps, 'pluginDaemonKey'),
      DIFY_INNER_API_KEY: difyKey(deps, 'innerApiKey'),
    },
    templates: {},
  };
}

/** dify-sandbox settings (Dify docker/docker-compose-template.yaml, service "sandbox"). */
export function sandboxSettings(deps: DifyDependencies, enableNetwork: boolean): ContainerSettings {
  return {
    environment: {
      GIN_MODE: 'release',
      WORKER_TIMEOUT: '15',
      ENABLE_NETWORK: String(enableNetwork),
      SANDBOX_PORT: String(SANDBOX_PORT),
    },
    secrets: { API_KEY: difyKey(deps, 'sandboxApiKey') },
    templates: {},
  };
}

/**
 * Settings of dify-web that must hold the public site URL: web/docker/entrypoint.sh of Dify 1.13.3 turns them into
 * the browser's API prefixes (NEXT_PUBLIC_API_PREFIX=${CONSOLE_API_URL}/console/api and the public one), and the
 * console API prefix decides the CSRF cookie name the browser reads (web/config/index.ts, CSRF_COOKIE_NAME). They
 * must equal the api's CONSOLE_API_URL, or the two sides disagree on `__Host-csrf_token` vs `csrf_token`.
 */
export const WEB_SITE_URL_SETTINGS = ['CONSOLE_API_URL', 'APP_API_URL'] as const;

/**
 * dify-web settings. The site URL comes from the site-URL secret: as ECS secrets in ALB mode; on Lambda, the image's
 * entry script reads the secret at start (functions/dify-web-image/site-url.ts), so only `environment` applies there.
 */
export function webSettings(deps: Pick<DifyDependencies, 'siteUrlSecret'>): ContainerSettings {
  return {
    environment: {
      MARKETPLACE_API_URL: 'https://marketplace.dify.ai',
      MARKETPLACE_URL: 'https://marketplace.dify.ai',
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(WEB_PORT),
      HOSTNAME: '0.0.0.0',
    },
    secrets: Object.fromEntries(
      WEB_SITE_URL_SETTINGS.map((name) => [name, { secret: deps.siteUrlSecret, field: SITE_URL_FIELD }]),
    ),
    templates: {},
  };
}
