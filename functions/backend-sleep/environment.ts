/**
 * Environment variable names the construct sets (lib/constructs/backend-sleep.ts) and the handler reads. Kept free
 * of imports so the construct can use it without pulling the handler's dependencies into the CDK app.
 */
export const ENVIRONMENT = {
  /** Name of the ECS cluster of the backend service. */
  cluster: 'BACKEND_CLUSTER',
  /** Name of the backend ECS service. */
  service: 'BACKEND_SERVICE',
  /** `idle` or `working-hours` (backend.sleep.mode; the controller does not exist when it is `off`). */
  mode: 'SLEEP_MODE',
  /** Whole minutes without real use before the backend may sleep (backend.sleep.idleMinutes). */
  idleMinutes: 'SLEEP_IDLE_MINUTES',
  /** EventBridge day-of-week list, e.g. `MON-FRI` (backend.sleep.workingHours.days). */
  days: 'WORKING_DAYS',
  /** `HH:MM` (backend.sleep.workingHours.start). */
  start: 'WORKING_START',
  /** `HH:MM` (backend.sleep.workingHours.end). */
  end: 'WORKING_END',
  /** IANA time zone of start and end (backend.sleep.workingHours.timeZone). */
  timeZone: 'WORKING_TIME_ZONE',
  /** Host name of Dify's Redis (the ElastiCache primary endpoint). */
  redisHost: 'REDIS_HOST',
  /** Port of Dify's Redis. */
  redisPort: 'REDIS_PORT',
  /** `true` or `false`; the synthesized template always sets `true` (ElastiCache has in-transit encryption on). */
  redisTls: 'REDIS_TLS',
  /** ARN of Dify's shared secret, which holds the Redis AUTH token. */
  redisSecretArn: 'REDIS_SECRET_ARN',
  /** JSON field of that secret holding the token (`redisAuthToken`). */
  redisSecretField: 'REDIS_SECRET_FIELD',
  /** Comma-separated Celery queues the workers consume (their lists live in the broker database). */
  queues: 'CELERY_QUEUES',
  /** Name of the upload relay function, whose invocations count as use (plugin endpoints); unset: not checked. */
  relayFunctionName: 'RELAY_FUNCTION_NAME',
} as const;

/** Redis keys the api and the workers write (the backend-sleep contract, docs/adr/0018). */
export const LAST_USE_KEY = 'dify-edge:last-use';
export const RUNNING_KEY = 'dify-edge:running';
/** Dify's application database (REDIS_DB) and the Celery broker database (`.../1` in CELERY_BROKER_URL). */
export const APP_DB = 0;
export const BROKER_DB = 1;
