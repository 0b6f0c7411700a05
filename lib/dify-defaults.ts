/**
 * Settings whose Dify 1.13.3 default is exactly what this deployment wants, so they are left out of every
 * container's environment: Lambda caps a function's whole environment at 4 KB (Lambda DG "Working with Lambda
 * environment variables") and the api function needs its bytes for secret references and endpoints. Each entry names
 * where the default is defined; when the Dify sources are present, test/dify/defaults.test.ts reads them there.
 */
export const DIFY_API_DEFAULTS: Readonly<Record<string, { readonly value: string; readonly source: string }>> = {
  DB_TYPE: { value: 'postgresql', source: 'api/configs/middleware/__init__.py' },
  DB_PORT: { value: '5432', source: 'api/configs/middleware/__init__.py' },
  DB_DATABASE: { value: 'dify', source: 'api/configs/middleware/__init__.py' },
  CELERY_BACKEND: { value: 'redis', source: 'api/configs/middleware/__init__.py' },
  REDIS_PORT: { value: '6379', source: 'api/configs/middleware/cache/redis_config.py' },
  REDIS_DB: { value: '0', source: 'api/configs/middleware/cache/redis_config.py' },
  DEPLOY_ENV: { value: 'PRODUCTION', source: 'api/configs/deploy/__init__.py' },
  LOG_LEVEL: { value: 'INFO', source: 'api/configs/feature/__init__.py' },
  MARKETPLACE_ENABLED: { value: 'true', source: 'api/configs/feature/__init__.py' },
  // Read by the image's entrypoint as ${NAME:-default}.
  DIFY_BIND_ADDRESS: { value: '0.0.0.0', source: 'api/docker/entrypoint.sh' },
  DIFY_PORT: { value: '5001', source: 'api/docker/entrypoint.sh' },
  SERVER_WORKER_AMOUNT: { value: '1', source: 'api/docker/entrypoint.sh' },
  SERVER_WORKER_CLASS: { value: 'gevent', source: 'api/docker/entrypoint.sh' },
};

/** The environment without the entries that equal Dify's own default. */
export function withoutDifyDefaults(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter(([name, value]) => DIFY_API_DEFAULTS[name]?.value !== value),
  );
}
