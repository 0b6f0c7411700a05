import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Cache } from './constructs/cache';
import { Database } from './constructs/database';
import { SITE_URL_FIELD } from './constructs/site-url';

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
  readonly redisAuthToken: secretsmanager.ISecret;
  readonly bucketName: string;
  readonly secretKey: secretsmanager.ISecret;
  readonly sandboxApiKey: secretsmanager.ISecret;
  readonly pluginDaemonKey: secretsmanager.ISecret;
  readonly innerApiKey: secretsmanager.ISecret;
  readonly initPassword: secretsmanager.ISecret;
  /** Holds the public site URL under `siteUrl` (see constructs/site-url.ts). */
  readonly siteUrlSecret: secretsmanager.ISecret;
  /** `http://host:8194` of dify-sandbox as seen by this container. */
  readonly sandboxEndpoint: string;
  /** `http://host:5002` of the plugin daemon as seen by this container. */
  readonly pluginDaemonEndpoint: string;
}

export const SANDBOX_PORT = 8194;
export const PLUGIN_DAEMON_PORT = 5002;
export const API_PORT = 5001;
export const WEB_PORT = 3000;

/**
 * Celery uses Redis database 1, Dify's caches database 0 (as in Dify's docker/.env.example). Celery refuses a
 * `rediss://` URL without `ssl_cert_reqs` (kombu/celery Redis transport); ElastiCache presents a certificate from a
 * public Amazon CA, so it is verified. `$REDIS_PASSWORD` is expanded inside the container (bash in ECS, the secrets
 * loader on Lambda); the generated token is alphanumeric, so it needs no URL escaping.
 */
const CELERY_BROKER_TEMPLATE = (host: string) =>
  `rediss://:$REDIS_PASSWORD@${host}:${Cache.PORT}/1?ssl_cert_reqs=required`;

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

/**
 * Settings shared by every container running the dify-api image (api on Lambda, internal api, worker, beat,
 * migration). Names and meanings follow Dify's docker/.env.example and docker/docker-compose-template.yaml.
 */
export function difyApiImageSettings(deps: DifyDependencies, mode: 'api' | 'worker' | 'beat'): ContainerSettings {
  const environment: Record<string, string> = {
    MODE: mode,
    LOG_LEVEL: 'INFO',
    DEPLOY_ENV: 'PRODUCTION',
    // Migrations run once per deploy in a dedicated ECS task (docs/adr/0003), never on every start.
    MIGRATION_ENABLED: 'false',
    // Changes with the custom domain, so a domain change restarts the backend tasks (which re-read the site URL)
    // and publishes a new api version; without a domain the distribution's name never changes.
    DIFY_EDGE_SITE_DOMAIN: deps.siteUrl === '' ? 'cloudfront-default' : deps.siteUrl.replace(/^https:\/\//, ''),
    // Signed file URLs for plugins: the plugin daemon fetches them, and it shares a task with the internal api.
    INTERNAL_FILES_URL: `http://localhost:${API_PORT}`,
    DB_TYPE: 'postgresql',
    DB_USERNAME: Database.USERNAME,
    DB_HOST: deps.databaseHost,
    DB_PORT: String(Database.PORT),
    DB_DATABASE: Database.MAIN_DATABASE,
    // Aurora may pause or fail over; a pre-ping drops dead pooled connections instead of failing a request.
    SQLALCHEMY_POOL_PRE_PING: 'true',
    // Appended to the SQLAlchemy URL; psycopg2's default `prefer` would fall back to plain text silently.
    DB_EXTRAS: 'sslmode=require',
    REDIS_HOST: deps.redisHost,
    REDIS_PORT: String(Cache.PORT),
    REDIS_USERNAME: '',
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
    PGVECTOR_HOST: deps.databaseHost,
    PGVECTOR_PORT: String(Database.PORT),
    PGVECTOR_USER: Database.USERNAME,
    PGVECTOR_DATABASE: Database.VECTOR_DATABASE,
    CODE_EXECUTION_ENDPOINT: deps.sandboxEndpoint,
    PLUGIN_DAEMON_URL: deps.pluginDaemonEndpoint,
    MARKETPLACE_ENABLED: 'true',
    // The api's own default (15 MB) is below the plugin daemon's 50 MB (MAX_PLUGIN_PACKAGE_SIZE), as in Dify's compose.
    PLUGIN_MAX_PACKAGE_SIZE: '52428800',
    // Real-time collaboration needs gunicorn's websocket worker, which one gevent worker on Lambda does not run.
    ENABLE_COLLABORATION_MODE: 'false',
  };
  return {
    environment,
    secrets: {
      SECRET_KEY: { secret: deps.secretKey },
      DB_PASSWORD: { secret: deps.databaseSecret, field: 'password' },
      PGVECTOR_PASSWORD: { secret: deps.databaseSecret, field: 'password' },
      REDIS_PASSWORD: { secret: deps.redisAuthToken },
      CODE_EXECUTION_API_KEY: { secret: deps.sandboxApiKey },
      PLUGIN_DAEMON_KEY: { secret: deps.pluginDaemonKey },
      INNER_API_KEY_FOR_PLUGIN: { secret: deps.innerApiKey },
      INIT_PASSWORD: { secret: deps.initPassword },
      ...Object.fromEntries(
        SITE_URL_SETTINGS.map((name) => [name, { secret: deps.siteUrlSecret, field: SITE_URL_FIELD }]),
      ),
    },
    templates: { CELERY_BROKER_URL: CELERY_BROKER_TEMPLATE(deps.redisHost) },
  };
}

/** gunicorn settings read by Dify's api entrypoint. One gevent worker: Lambda serves one request per environment. */
export function apiServerEnvironment(timeoutSeconds: number, workers: number): Record<string, string> {
  return {
    DIFY_BIND_ADDRESS: '0.0.0.0',
    DIFY_PORT: String(API_PORT),
    SERVER_WORKER_AMOUNT: String(workers),
    SERVER_WORKER_CLASS: 'gevent',
    SERVER_WORKER_CONNECTIONS: '100',
    GUNICORN_TIMEOUT: String(timeoutSeconds),
  };
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
      REDIS_HOST: deps.redisHost,
      REDIS_PORT: String(Cache.PORT),
      REDIS_USE_SSL: 'true',
      SERVER_PORT: String(PLUGIN_DAEMON_PORT),
      MAX_PLUGIN_PACKAGE_SIZE: '52428800',
      PPROF_ENABLED: 'false',
      DIFY_INNER_API_URL: innerApiUrl,
      PLUGIN_REMOTE_INSTALLING_HOST: '0.0.0.0',
      PLUGIN_REMOTE_INSTALLING_PORT: '5003',
      PLUGIN_WORKING_PATH: '/app/storage/cwd',
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
      REDIS_PASSWORD: { secret: deps.redisAuthToken },
      SERVER_KEY: { secret: deps.pluginDaemonKey },
      DIFY_INNER_API_KEY: { secret: deps.innerApiKey },
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
    secrets: { API_KEY: { secret: deps.sandboxApiKey } },
    templates: {},
  };
}

/** dify-web settings: the browser calls the api on the same site, so relative-to-site URLs are all the same. */
export function webEnvironment(siteUrl: string): Record<string, string> {
  return {
    CONSOLE_API_URL: siteUrl,
    APP_API_URL: siteUrl,
    MARKETPLACE_API_URL: 'https://marketplace.dify.ai',
    MARKETPLACE_URL: 'https://marketplace.dify.ai',
    NEXT_TELEMETRY_DISABLED: '1',
    PORT: String(WEB_PORT),
    HOSTNAME: '0.0.0.0',
  };
}
