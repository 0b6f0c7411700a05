/**
 * The upload relay (docs/adr/0016): a hono app behind a function URL with AuthType NONE that CloudFront reaches for
 * exactly the paths in ./routes.ts, carrying a secret origin header.
 *
 * - Dify upload routes go on to the api's function URL (AuthType AWS_IAM), signed with SigV4 and the SHA-256 of the
 *   whole body, byte for byte. That is what OAC plus the Lambda@Edge payload signer do for every other api path,
 *   except that Lambda@Edge only ever sees the first 1 MB of a body (CloudFront DG "Restrictions on edge
 *   functions", body with includeBody), while a function URL takes up to 6 MB of request event.
 * - `/e/*` goes to the plugin daemon inside the VPC, with `Dify-Hook-Url` set to the public URL as Dify's compose
 *   nginx does (docker/nginx/conf.d/default.conf.template of Dify 1.13.3, `location /e/`).
 *
 * Only web-standard APIs are used (fetch, Request, Response, TextEncoder): the same code runs on LLRT in Lambda and on
 * Node.js in the tests.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hono, type Context } from 'hono';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { constantTimeEqual } from '../shared/bearer-auth';
import type { StaticCredentials } from '../shared/lambda-credentials';
import {
  HOOK_URL_HEADER,
  RELAY_BODY_LIMIT_BYTES,
  RELAY_PAYLOAD_TOO_LARGE_MESSAGE,
  RELAY_SECRET_GENERATION_HEADER,
  RELAY_SECRET_HEADER,
  relayTarget,
} from './routes';

/** Seconds a client should wait before retrying when the plugin daemon is not running (the backend sleeps). */
export const DAEMON_RETRY_AFTER_SECONDS = 60;

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface RelayOptions {
  /** `https://<id>.lambda-url.<region>.on.aws` of the api's live alias. */
  readonly apiUrl: string;
  /** Region of the api function (the SigV4 credential scope). */
  readonly region: string;
  /** The execution role's credentials (functions/shared/lambda-credentials.ts). */
  readonly credentials: () => StaticCredentials;
  /** `http://backend.dify.internal:5002`. */
  readonly pluginDaemonUrl: string;
  /** The origin-secret values accepted now: the current one and, during a rotation, the previous one. */
  readonly acceptedSecrets: () => Promise<readonly string[]>;
  /** `https://<site>` without a trailing slash: the public origin of the plugin endpoints. */
  readonly siteUrl: () => Promise<string>;
  /** @default globalThis.fetch */
  readonly fetch?: FetchFunction;
  /**
   * Asks ECS to start the backend when the plugin daemon does not answer (backend sleep, docs/adr/0018).
   * @default none (the backend always runs)
   */
  readonly wakeBackend?: () => Promise<void>;
  /** One JSON object per request; never given header values or bodies. @default no logging */
  readonly log?: (entry: Record<string, unknown>) => void;
}

// Connection-level headers never travel past a proxy (RFC 9110 section 7.6.1); content-length is recomputed by fetch.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/**
 * Request headers the relay never passes on: its own secret (and its generation), the viewer-facing Host (the target's host is used),
 * any SigV4 material (the relay signs itself), and Accept-Encoding (the relay reads whole bodies; compressed
 * answers from a streaming function URL are what the viewer-request function strips for the same reason).
 * CloudFront's own `x-amz-cf-id` is kept: the api logs it like any other request's.
 */
function isDroppedRequestHeader(name: string): boolean {
  return (
    HOP_BY_HOP.has(name) ||
    name === RELAY_SECRET_HEADER ||
    name === RELAY_SECRET_GENERATION_HEADER ||
    name === 'host' ||
    name === 'authorization' ||
    name === 'accept-encoding' ||
    name === 'x-amz-date' ||
    name === 'x-amz-security-token' ||
    name === 'x-amz-content-sha256'
  );
}

function forwardedHeaders(request: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (!isDroppedRequestHeader(lower)) headers[lower] = value;
  });
  return headers;
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

async function sha256Hex(body: Uint8Array): Promise<string> {
  const hash = new Sha256();
  hash.update(body);
  return toHex(await hash.digest());
}

/** Query map for SigV4 that keeps repeated names (SignatureV4 sorts and encodes them). */
function signableQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

/** Response headers passed back to CloudFront: everything except connection-level ones. */
function answerFrom(response: Response, body: ArrayBuffer): Response {
  const headers = new Headers();
  response.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name.toLowerCase()) && name.toLowerCase() !== 'content-encoding') headers.append(name, value);
  });
  const setCookies = (response.headers as Headers & { getSetCookie?: () => string[] }).getSetCookie?.() ?? [];
  if (setCookies.length > 0) {
    headers.delete('set-cookie');
    for (const cookie of setCookies) headers.append('set-cookie', cookie);
  }
  return new Response(response.status === 204 || response.status === 304 ? null : body, {
    status: response.status,
    headers,
  });
}

function jsonError(context: Context, status: 403 | 404 | 413 | 502 | 503, payload: object): Response {
  context.header('cache-control', 'no-store');
  return context.json(payload, status);
}

/** A path segment that could step out of `/e/` once the daemon decodes it: encoded slashes, backslashes, dots. */
function escapesPluginEndpoint(pathname: string): boolean {
  if (/%2f|%5c|\\/i.test(pathname)) return true;
  return pathname
    .split('/')
    .map((segment) => segment.replace(/%2e/gi, '.'))
    .some((segment) => segment === '.' || segment === '..');
}

export function createRelayApp(options: RelayOptions): Hono {
  const log = options.log ?? (() => undefined);
  const send: FetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  const api = new URL(options.apiUrl);
  const daemon = new URL(options.pluginDaemonUrl);
  const app = new Hono();

  app.onError((error, context) => {
    log({ event: 'relay_error', error: error instanceof Error ? error.name : 'UnknownError' });
    return jsonError(context, 502, {
      error: 'bad_gateway',
      message: 'The upload relay could not complete the request.',
    });
  });

  app.all('*', async (context) => {
    const request = context.req.raw;
    const url = new URL(request.url);

    // 1. Only CloudFront knows the secret. Every accepted value is compared, so timing does not tell which matched.
    const presented = request.headers.get(RELAY_SECRET_HEADER) ?? '';
    const accepted = await options.acceptedSecrets();
    let authentic = false;
    for (const value of accepted) authentic = constantTimeEqual(presented, value) || authentic;
    if (!authentic) {
      log({ event: 'relay_forbidden', path: url.pathname, headerPresent: presented !== '' });
      return jsonError(context, 403, { error: 'forbidden', message: 'This origin only answers CloudFront.' });
    }

    // 2. Only the allow-listed paths, matched as CloudFront matches the behaviours that lead here.
    const target = relayTarget(url.pathname);
    if (target === undefined || (target === 'plugin-endpoint' && escapesPluginEndpoint(url.pathname))) {
      return jsonError(context, 404, { error: 'not_found' });
    }

    // 3. The body as exact bytes (never through a string: binary and non-UTF-8 multipart must stay intact).
    const method = request.method.toUpperCase();
    const body =
      method === 'GET' || method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
    if (body.length > RELAY_BODY_LIMIT_BYTES) {
      return jsonError(context, 413, {
        error: 'payload_too_large',
        message: RELAY_PAYLOAD_TOO_LARGE_MESSAGE,
        limitBytes: RELAY_BODY_LIMIT_BYTES,
      });
    }

    const headers = forwardedHeaders(request);
    const started = Date.now();
    if (target === 'api') {
      const response = await forwardToApi(url, method, headers, body);
      const answer = await response.arrayBuffer();
      log({
        event: 'relay_api',
        path: url.pathname,
        status: response.status,
        bytes: body.length,
        ms: Date.now() - started,
      });
      return answerFrom(response, answer);
    }

    // Plugin endpoint: the daemon sees the viewer's Authorization itself, as behind compose's nginx.
    const forwardedAuthorization = headers[FORWARDED_AUTHORIZATION_HEADER];
    delete headers[FORWARDED_AUTHORIZATION_HEADER];
    if (forwardedAuthorization !== undefined) headers.authorization = forwardedAuthorization;
    const siteUrl = (await options.siteUrl()).replace(/\/+$/, '');
    headers[HOOK_URL_HEADER] = `${siteUrl}${url.pathname}${url.search}`;
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-host'] = new URL(siteUrl).host;
    let response: Response;
    try {
      response = await send(`${daemon.origin}${url.pathname}${url.search}`, {
        method,
        headers,
        body: body.length > 0 ? body : undefined,
        redirect: 'manual',
      });
    } catch (error) {
      // No task registered in Cloud Map (the backend sleeps or is starting), or it refuses connections.
      log({ event: 'relay_daemon_unavailable', error: error instanceof Error ? error.name : 'UnknownError' });
      // Awaited (bounded by WAKE_TIMEOUT_MS): Lambda freezes the environment once the answer is returned.
      if (options.wakeBackend) await options.wakeBackend();
      context.header('retry-after', String(DAEMON_RETRY_AFTER_SECONDS));
      return jsonError(context, 503, {
        error: 'backend_unavailable',
        message: 'The Dify plugin daemon is not running right now (the backend may be starting). Try again shortly.',
      });
    }
    const answer = await response.arrayBuffer();
    log({ event: 'relay_endpoint', status: response.status, bytes: body.length, ms: Date.now() - started });
    return answerFrom(response, answer);
  });

  async function forwardToApi(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Uint8Array,
  ): Promise<Response> {
    const contentSha256 = await sha256Hex(body);
    // Only host and the x-amz-* headers are signed: what fetch sends for them is fixed, while other headers
    // (e.g. content-length) may be normalised on the way. Lambda checks the body against x-amz-content-sha256.
    const signer = new SignatureV4({
      service: 'lambda',
      region: options.region,
      credentials: options.credentials(),
      sha256: Sha256,
      applyChecksum: false,
    });
    const signed = await signer.sign({
      method,
      protocol: 'https:',
      hostname: api.hostname,
      path: url.pathname,
      query: signableQuery(url.search),
      headers: { host: api.host, 'x-amz-content-sha256': contentSha256 },
    });
    const outgoing: Record<string, string> = { ...headers, 'accept-encoding': 'identity' };
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== 'host') outgoing[name.toLowerCase()] = value;
    }
    return send(`${api.origin}${url.pathname}${url.search}`, {
      method,
      headers: outgoing,
      body: body.length > 0 ? body : undefined,
      redirect: 'manual',
    });
  }

  return app;
}
