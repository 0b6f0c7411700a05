import { ContainerSettings } from '../dify-environment';
import { entrypointWithTemplates } from './ecs-settings';

/** Where functions/dify-backend-image puts worker_activity.py. */
export const WORKER_ACTIVITY_DIRECTORY = '/opt/dify-edge';
/** Dify's Celery app re-exported with the running-task hook (functions/dify-backend-image/worker_activity.py). */
export const WORKER_CELERY_APP = 'worker_activity.celery';

/**
 * Set before the worker starts: the locale defaults of Dify's entrypoint (api/docker/entrypoint.sh of Dify 1.13.3,
 * lines 7-9), and our module first on the Python path (keeping any path the image sets). The working directory stays
 * the image's /app/api, from which Celery imports the app's modules (as with Dify's own `celery_entrypoint`).
 */
export const CELERY_WORKER_EXPORTS: Readonly<Record<string, string>> = {
  LANG: '${LANG:-C.UTF-8}',
  LC_ALL: '${LC_ALL:-C.UTF-8}',
  PYTHONIOENCODING: '${PYTHONIOENCODING:-utf-8}',
  PYTHONPATH: `${WORKER_ACTIVITY_DIRECTORY}\${PYTHONPATH:+:$PYTHONPATH}`,
};

/**
 * The tail of the worker mode of Dify's entrypoint (api/docker/entrypoint.sh of Dify 1.13.3, lines 58-69), with our
 * app instead of `celery_entrypoint.celery`: same flags, same variables, same defaults, expanded by bash in the
 * container. The branches our containers never take are left out: CELERY_AUTO_SCALE (the backend task sets it to
 * false) and the queue defaults (it always sets CELERY_WORKER_QUEUES). test/containers/worker-activity.test.ts compares
 * this with the reference entrypoint where present.
 */
export const CELERY_WORKER_COMMAND = [
  `celery -A ${WORKER_CELERY_APP} worker`,
  '-P ${CELERY_WORKER_POOL:-${CELERY_WORKER_CLASS:-gevent}}',
  '-c ${CELERY_WORKER_CONCURRENCY:-${CELERY_WORKER_AMOUNT:-1}}',
  '--max-tasks-per-child ${MAX_TASKS_PER_CHILD:-50}',
  '--loglevel ${LOG_LEVEL:-INFO}',
  // `$NAME`, not `${NAME}`: CloudFormation's template validation takes `${NAME}` for an Fn::Sub parameter (E1029).
  '-Q $CELERY_WORKER_QUEUES',
  '--prefetch-multiplier=${CELERY_PREFETCH_MULTIPLIER:-1}',
].join(' ');

/** entryPoint/command of a Celery worker container: the settings' templates, the exports above, then the worker. */
export function celeryWorkerEntrypoint(settings: ContainerSettings): { entryPoint: string[]; command: string[] } {
  return entrypointWithTemplates(
    { ...settings, templates: { ...settings.templates, ...CELERY_WORKER_EXPORTS } },
    CELERY_WORKER_COMMAND,
  );
}
