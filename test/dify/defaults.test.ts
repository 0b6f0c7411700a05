/**
 * Facts about Dify 1.13.3 that the deployment relies on without setting them, checked against the upstream sources
 * when they are present (test/support/reference.ts). Each test reads the line that decides the behaviour.
 */
import { BACKGROUND_QUEUES, DIFY_DEFAULT_QUEUES, RUN_QUEUES } from '../../lib/constructs/backend-service';
import { DIFY_API_DEFAULTS } from '../../lib/dify-defaults';
import { describeWithReference, readReference } from '../support/reference';

/** The default of a pydantic settings field: `NAME: <type> = Field(... default=<value> ...)`. */
function pydanticDefault(source: string, name: string): string | undefined {
  const start = source.search(new RegExp(`^\\s+${name}: [^=\\n]+= Field\\(`, 'm'));
  if (start < 0) return undefined;
  const body = source.slice(start, source.indexOf('\n    )', start));
  const match = /default=([^,\n]+)/.exec(body);
  if (!match) return undefined;
  const raw = match[1].trim();
  if (raw === 'True' || raw === 'False') return raw.toLowerCase();
  return raw.replace(/^["']|["']$/g, '');
}

describeWithReference('Dify 1.13.3 defaults left unset (read from the upstream sources)', () => {
  test.each(Object.entries(DIFY_API_DEFAULTS))('%s defaults to the value we rely on', (name, fact) => {
    const source = readReference(fact.source);
    const actual = fact.source.endsWith('.sh')
      ? new RegExp(`\\$\\{${name}:-([^}]*)\\}`).exec(source)?.[1]
      : pydanticDefault(source, name);
    expect(actual).toBe(fact.value);
  });

  test('the settings this deployment must set differ from their code defaults (so leaving them out would matter)', () => {
    const feature = readReference('api/configs/feature/__init__.py');
    expect(pydanticDefault(feature, 'SWAGGER_UI_ENABLED')).toBe('true');
    expect(pydanticDefault(feature, 'CHECK_UPDATE_URL')).toBe('https://updates.dify.ai');
    expect(pydanticDefault(feature, 'INTERNAL_FILES_URL')).toBe('');
    expect(feature).toContain('Falls back to FILES_URL if not specified.');
    // pgvector's default port is not PostgreSQL's: PGVECTOR_PORT must be set to Aurora's 5432.
    expect(pydanticDefault(readReference('api/configs/middleware/vdb/pgvector_config.py'), 'PGVECTOR_PORT')).toBe(
      '5433',
    );
    expect(pydanticDefault(readReference('api/configs/middleware/__init__.py'), 'SQLALCHEMY_POOL_PRE_PING')).toBe(
      'false',
    );
  });

  test('dify-web 1.13.3 starts `node server.js` directly: pm2 settings would be dead', () => {
    const entrypoint = readReference('web/docker/entrypoint.sh');
    expect(entrypoint).toContain('exec node /app/web/server.js');
    expect(entrypoint).not.toMatch(/pm2/i);
  });

  test("the run and background workers together consume exactly the self-hosted edition's default queues", () => {
    const entrypoint = readReference('api/docker/entrypoint.sh');
    const selfHosted = /else\s+# Community edition[^\n]*\n\s+DEFAULT_QUEUES="([^"]+)"/.exec(entrypoint)?.[1];
    expect(selfHosted?.split(',')).toEqual([...DIFY_DEFAULT_QUEUES]);
    expect([...BACKGROUND_QUEUES, ...RUN_QUEUES].sort()).toEqual([...DIFY_DEFAULT_QUEUES].sort());
    // The worker reads CELERY_WORKER_QUEUES and CELERY_WORKER_AMOUNT, which the backend task sets per worker.
    expect(entrypoint).toContain('if [[ -n "${CELERY_WORKER_QUEUES}" ]]; then');
    expect(entrypoint).toContain('CONCURRENCY_OPTION="-c ${CELERY_WORKER_AMOUNT:-1}"');
  });

  test('streaming chatflow and workflow runs are queued for the worker, on the run queue', () => {
    const service = readReference('api/services/app_generate_service.py');
    expect(service.match(/workflow_based_app_execution_task\.delay\(payload_json\)/g)?.length).toBeGreaterThanOrEqual(
      2,
    );
  });
});
