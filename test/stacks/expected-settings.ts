/**
 * What the Dify containers must receive, written down from Dify's docker/.env.example rather than imported from
 * lib/, so a setting dropped from the implementation fails the tests instead of silently leaving both lists.
 */

/** Credentials the dify-api image reads (api, internal api, worker, beat, migration). */
export const API_IMAGE_CREDENTIALS = [
  'SECRET_KEY',
  'DB_PASSWORD',
  'PGVECTOR_PASSWORD',
  'REDIS_PASSWORD',
  'CODE_EXECUTION_API_KEY',
  'PLUGIN_DAEMON_KEY',
  'INNER_API_KEY_FOR_PLUGIN',
  'INIT_PASSWORD',
];

/** Credentials of the plugin daemon and the sandbox. */
export const BACKEND_ONLY_CREDENTIALS = ['SERVER_KEY', 'DIFY_INNER_API_KEY', 'API_KEY'];

/** Not credentials, but they travel as secrets too: the public site URL (lib/constructs/site-url.ts). */
export const SITE_URL_SETTINGS = [
  'CONSOLE_WEB_URL',
  'CONSOLE_API_URL',
  'SERVICE_API_URL',
  'APP_WEB_URL',
  'FILES_URL',
  'TRIGGER_URL',
];

/** Everything a dify-api-image container receives as a secret. */
export const API_IMAGE_SECRETS = [...API_IMAGE_CREDENTIALS, ...SITE_URL_SETTINGS];
