/**
 * What the upload relay accepts (docs/adr/0016), shared by the relay (functions/upload-relay/app.ts) and the CDK
 * stacks (lib/constructs/distribution.ts, lib/constructs/upload-relay.ts). Import-free on purpose: the same list
 * decides which CloudFront behaviours point at the relay and which paths the relay forwards, so the two cannot
 * disagree.
 */

/**
 * Dify 1.13.3 routes that take request bodies larger than the 1 MB a Lambda@Edge function can read, as CloudFront
 * path patterns (`*` any characters including `/`, `?` one character, case-sensitive; CloudFront DG "Path
 * pattern"). One pattern covers routes that differ only inside a wildcard, because a distribution has at most 25
 * cache behaviours by default (CloudFront DG "Quotas on distributions").
 *
 * - multipart uploads: api/controllers/console/files.py (`/files/upload`), api/controllers/web/files.py,
 *   api/controllers/service_api/app/file.py, api/controllers/service_api/dataset/document.py
 *   (`create-by-file`/`create_by_file`, `update-by-file`/`update_by_file`),
 *   api/controllers/service_api/dataset/rag_pipeline/rag_pipeline_workflow.py (`pipeline/file-upload`),
 *   api/controllers/console/workspace/workspace.py (`webapp-logo/upload`);
 * - voice input: api/controllers/console/app/audio.py, api/controllers/console/explore/audio.py,
 *   api/controllers/web/audio.py, api/controllers/service_api/app/audio.py (`audio-to-text`);
 * - annotation CSVs: api/controllers/console/app/annotation.py (`annotations/batch-import`);
 * - plugin packages and bundles: api/controllers/console/workspace/plugin.py (`plugin/upload/pkg`, `/bundle`,
 *   `/github`, all under one pattern);
 * - DSL imports (YAML inside JSON, no size limit of their own): api/controllers/console/app/app_import.py,
 *   api/controllers/console/datasets/rag_pipeline/rag_pipeline_import.py.
 */
export const RELAY_API_PATH_PATTERNS = [
  '/console/api/files/upload',
  '/api/files/upload',
  '/v1/files/upload',
  '/v1/datasets/*-by-file',
  '/v1/datasets/*_by_file',
  '/v1/datasets/pipeline/file-upload',
  '/console/api/workspaces/custom-config/webapp-logo/upload',
  '/console/api/apps/*/audio-to-text',
  '/console/api/installed-apps/*/audio-to-text',
  '/api/audio-to-text',
  '/v1/audio-to-text',
  '/console/api/apps/*/annotations/batch-import',
  '/console/api/workspaces/current/plugin/upload/*',
  '/console/api/apps/imports',
  '/console/api/rag/pipelines/imports',
] as const;

/**
 * Webhook triggers: `/triggers/webhook/<id>` and its debug variant. Dify accepts bodies up to
 * WEBHOOK_REQUEST_BODY_MAX_SIZE (10 MiB, api/configs/feature/__init__.py:199) from senders outside Dify that cannot
 * shrink their payloads; the webhook id in the path is the secret, forwarded unchanged. Forwarded to the api like the
 * upload routes, but on the relay in every `uploads.mode`: through the api a webhook also wakes a sleeping backend
 * (docs/adr/0018), which the full-size path's ALB cannot.
 */
export const WEBHOOK_PATH_PATTERN = '/triggers/webhook*';

/**
 * Plugin endpoints: Dify's compose nginx sends `/e/` to the plugin daemon (docker/nginx/conf.d/default.conf.template
 * of Dify 1.13.3, `location /e/`). No other daemon route is ever reachable: `/plugin/*` is its management API.
 */
export const PLUGIN_ENDPOINT_PATH_PATTERN = '/e/*';

/** Header CloudFront adds to every request toward the relay; its value lives in Secrets Manager. */
export const RELAY_SECRET_HEADER = 'x-dify-relay-secret';

/** Header CloudFront also adds; it only changes the template when the secret is rotated (lib/constructs/upload-relay.ts). */
export const RELAY_SECRET_GENERATION_HEADER = 'x-dify-relay-secret-generation';

/** Header the plugin daemon reads to learn the public URL of the endpoint (nginx sets it in compose). */
export const HOOK_URL_HEADER = 'dify-hook-url';

/** Fields of the relay's secret: the value CloudFront sends now and the one it sent before the last rotation. */
export const RELAY_SECRET_FIELDS = { current: 'current', previous: 'previous' } as const;

/**
 * Lambda's synchronous invocation payload limit, which function URLs apply to the request event (AWS Lambda DG
 * "Lambda quotas": "Invocation payload (request and response) 6 MB each for request and response (synchronous)").
 */
export const FUNCTION_URL_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/** Room left in the event for headers, cookies and the request context. */
const EVENT_ALLOWANCE_BYTES = 64 * 1024;

/**
 * The largest body the relay forwards. A function URL hands binary bodies (multipart, audio) to the function as
 * base64, 4 characters per 3 bytes (AWS Lambda DG "Invoking Lambda function URLs", `isBase64Encoded`), and the api's
 * function URL receives the forwarded body the same way, so 3/4 of the payload limit minus the allowance is what
 * passes both hops: 4,669,440 bytes (about 4.45 MiB).
 */
export const RELAY_BODY_LIMIT_BYTES = Math.floor((FUNCTION_URL_PAYLOAD_LIMIT_BYTES - EVENT_ALLOWANCE_BYTES) / 4) * 3;

/**
 * Dify's upload limits in lambda mode, in Dify's unit (MB, multiplied by 1024 * 1024 by Dify): a 4 MiB file plus
 * its multipart envelope stays under RELAY_BODY_LIMIT_BYTES, so Dify's UI refuses anything the relay cannot pass.
 */
export const RELAYED_UPLOAD_LIMIT_MB = 4;

/** Text of the relay's 413: the same JSON shape as the payload signer's (edge/payload-signer/index.ts). */
export const RELAY_PAYLOAD_TOO_LARGE_MESSAGE =
  `Request bodies over ${RELAY_BODY_LIMIT_BYTES} bytes cannot pass the upload relay of this deployment: a Lambda ` +
  'function URL accepts at most 6 MB of request event, and binary bodies travel base64-encoded. Upload a smaller ' +
  'file or split the request.';

function patternExpression(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

const API_EXPRESSIONS = [...RELAY_API_PATH_PATTERNS, WEBHOOK_PATH_PATTERN].map(patternExpression);
const PLUGIN_ENDPOINT_EXPRESSION = patternExpression(PLUGIN_ENDPOINT_PATH_PATTERN);

/** Where the relay sends a path, decided exactly as CloudFront matches the behaviours' path patterns. */
export function relayTarget(path: string): 'api' | 'plugin-endpoint' | undefined {
  if (PLUGIN_ENDPOINT_EXPRESSION.test(path)) return 'plugin-endpoint';
  if (API_EXPRESSIONS.some((expression) => expression.test(path))) return 'api';
  return undefined;
}
