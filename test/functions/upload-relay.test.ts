/**
 * The upload relay's real handler (functions/upload-relay/index.ts) behind a function-URL stand-in, forwarding to
 * the verifying api function URL stand-in (SigV4 signature and x-amz-content-sha256 of the received body, then the
 * Lambda Web Adapter's Authorization restore) and to a plugin-daemon stand-in.
 */
import { randomBytes } from 'node:crypto';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { SECRET_CACHE_MS } from '../../functions/upload-relay';
import { DAEMON_RETRY_AFTER_SECONDS } from '../../functions/upload-relay/app';
import {
  HOOK_URL_HEADER,
  RELAY_BODY_LIMIT_BYTES,
  RELAY_PAYLOAD_TOO_LARGE_MESSAGE,
  RELAY_SECRET_HEADER,
  RELAYED_UPLOAD_LIMIT_MB,
  relayTarget,
} from '../../functions/upload-relay/routes';
import {
  secretArn,
  startFakeSecretsManager,
  type FakeSecret,
  type FakeSecretsManager,
} from '../containers/fake-secrets-manager';
import {
  API_FUNCTION_URL_HOST,
  type AppEcho,
  type FunctionUrlStandIn,
  type HttpAnswer,
  jsonOf,
  sendHttp,
  sha256Hex,
  startFunctionUrlStandIn,
} from '../edge/request-path-support';
import {
  type DaemonStandIn,
  relayHandler,
  type Network,
  type RelayStandIn,
  startDaemonStandIn,
  startRelayFunctionUrl,
} from './upload-relay-support';
import { nonUtf8Multipart } from './upload-relay-support';

const SITE = 'https://dify.example.com';
const CURRENT = 'c'.repeat(20) + randomBytes(16).toString('hex');
const PREVIOUS = 'p'.repeat(20) + randomBytes(16).toString('hex');
const MB = 1024 * 1024;

const secretValues: FakeSecret[] = [
  { name: 'relay', arn: secretArn('relay'), secretString: JSON.stringify({ current: CURRENT, previous: PREVIOUS }) },
  { name: 'site', arn: secretArn('site'), secretString: JSON.stringify({ siteUrl: SITE }) },
];

let secrets: FakeSecretsManager;
let functionUrl: FunctionUrlStandIn;
let daemon: DaemonStandIn;
let relay: RelayStandIn;
const network: Network = { apiPort: 0 };
let clock = 1_000_000;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  secrets = await startFakeSecretsManager(secretValues);
  functionUrl = await startFunctionUrlStandIn();
  daemon = await startDaemonStandIn();
  network.apiPort = functionUrl.port;
  network.daemonPort = daemon.port;
  const handler = relayHandler({
    secretsEndpoint: secrets.endpoint,
    network,
    now: () => clock,
    log: (entry) => logs.push(entry),
  });
  relay = await startRelayFunctionUrl(handler);
});

afterAll(async () => {
  await relay?.close();
  await daemon?.close();
  await functionUrl?.close();
  await secrets?.close();
});

beforeEach(() => {
  functionUrl.received.length = 0;
  daemon.received.length = 0;
});

interface CloudFrontRequest {
  method: string;
  path: string;
  /** Headers as CloudFront sends them to the relay (its secret header is added unless `secret` is null). */
  headers?: Record<string, string>;
  body?: Buffer;
  secret?: string | null;
}

/** What CloudFront sends: the viewer's headers (Authorization already copied by the viewer-request function). */
function cloudFrontSends(request: CloudFrontRequest): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...request.headers };
  const secret = request.secret === undefined ? CURRENT : request.secret;
  if (secret !== null) headers[RELAY_SECRET_HEADER] = secret;
  if (request.body !== undefined) headers['content-length'] = String(request.body.length);
  return sendHttp({ port: relay.port, method: request.method, path: request.path, headers, body: request.body });
}

describe('upload relay: CloudFront → relay function URL → SigV4 → api function URL', () => {
  test.each([1, 3, 4])('a %i MB non-UTF-8 multipart upload arrives byte-identical and signed', async (size) => {
    const body = nonUtf8Multipart('----relay', size * MB);
    const answer = await cloudFrontSends({
      method: 'POST',
      path: '/console/api/files/upload?source=datasets',
      headers: {
        'content-type': 'multipart/form-data; boundary=----relay',
        [FORWARDED_AUTHORIZATION_HEADER]: 'Bearer console-token',
        'x-forwarded-for': '198.51.100.7',
      },
      body,
    });
    expect(answer.status).toBe(200);
    const echo = jsonOf<AppEcho>(answer);
    expect(echo).toMatchObject({
      method: 'POST',
      path: '/console/api/files/upload',
      querystring: 'source=datasets',
      authorization: 'Bearer console-token',
      forwardedAuthorizationHeaderVisible: false,
      bodyBytes: body.length,
      bodySha256: sha256Hex(body),
    });
    const received = functionUrl.received[0];
    expect(received.headers.host).toBe(API_FUNCTION_URL_HOST);
    expect(received.headers['content-type']).toBe('multipart/form-data; boundary=----relay');
    expect(received.headers[RELAY_SECRET_HEADER]).toBeUndefined();
    expect(received.headers['x-forwarded-for']).toBe('198.51.100.7');
  });

  test('raw binary voice input (service API) arrives byte-identical', async () => {
    const body = randomBytes(2 * MB + 17);
    const answer = await cloudFrontSends({
      method: 'POST',
      path: '/v1/audio-to-text',
      headers: { 'content-type': 'audio/mpeg', [FORWARDED_AUTHORIZATION_HEADER]: 'Bearer app-key' },
      body,
    });
    expect(answer.status).toBe(200);
    expect(jsonOf<AppEcho>(answer)).toMatchObject({ bodySha256: sha256Hex(body), authorization: 'Bearer app-key' });
  });

  test('a 3 MB webhook payload (over the 1 MB the edge can sign) reaches the api byte-identical and signed', async () => {
    const body = Buffer.from(JSON.stringify({ event: 'bulk', rows: 'データ'.repeat(350_000) }));
    expect(body.length).toBeGreaterThan(3 * MB);
    const answer = await cloudFrontSends({
      method: 'POST',
      path: '/triggers/webhook/3f1c0e9a-hook?source=crm',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(answer.status).toBe(200);
    expect(jsonOf<AppEcho>(answer)).toMatchObject({
      method: 'POST',
      path: '/triggers/webhook/3f1c0e9a-hook',
      querystring: 'source=crm',
      bodyBytes: body.length,
      bodySha256: sha256Hex(body),
    });
  });

  test('a DSL import (JSON) passes with its UTF-8 text intact', async () => {
    const body = Buffer.from(
      JSON.stringify({ mode: 'yaml-content', yaml_content: 'app:\n  name: 見積もり\n'.repeat(40000) }),
    );
    expect(body.length).toBeGreaterThan(1 * MB);
    const answer = await cloudFrontSends({
      method: 'POST',
      path: '/console/api/apps/imports',
      headers: { 'content-type': 'application/json', [FORWARDED_AUTHORIZATION_HEADER]: 'Bearer t' },
      body,
    });
    expect(answer.status).toBe(200);
    expect(jsonOf<AppEcho>(answer).bodySha256).toBe(sha256Hex(body));
  });

  test('the largest body it forwards passes both function URLs; one byte more is a 413 in the signer shape', async () => {
    const fits = randomBytes(RELAY_BODY_LIMIT_BYTES);
    const ok = await cloudFrontSends({
      method: 'POST',
      path: '/api/audio-to-text',
      headers: { 'content-type': 'audio/webm' },
      body: fits,
    });
    expect(ok.status).toBe(200);
    expect(jsonOf<AppEcho>(ok).bodySha256).toBe(sha256Hex(fits));

    const tooLarge = await cloudFrontSends({
      method: 'POST',
      path: '/api/audio-to-text',
      headers: { 'content-type': 'audio/webm' },
      body: randomBytes(RELAY_BODY_LIMIT_BYTES + 1),
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['content-type']).toMatch(/^application\/json/);
    expect(jsonOf(tooLarge)).toEqual({
      error: 'payload_too_large',
      message: RELAY_PAYLOAD_TOO_LARGE_MESSAGE,
      limitBytes: RELAY_BODY_LIMIT_BYTES,
    });
    expect(functionUrl.received).toHaveLength(1);
  });

  test("Dify's limit (a file of RELAYED_UPLOAD_LIMIT_MB plus its multipart envelope) is under the relay's", () => {
    expect(
      nonUtf8Multipart('----WebKitFormBoundary7MA4YWxkTrZu0gW', RELAYED_UPLOAD_LIMIT_MB * MB + 400).length,
    ).toBeLessThan(RELAY_BODY_LIMIT_BYTES);
  });

  test('a bodyless request is signed too; without a viewer token Dify sees what it sees behind OAC', async () => {
    const answer = await cloudFrontSends({ method: 'GET', path: '/console/api/workspaces/current/plugin/upload/pkg' });
    expect(answer.status).toBe(200);
    // The Web Adapter only restores Authorization when the forwarded header is there, as on the OAC path.
    expect(jsonOf<AppEcho>(answer)).toMatchObject({ method: 'GET', bodyBytes: 0 });
    expect(jsonOf<AppEcho>(answer).authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });
});

describe('upload relay: only CloudFront, only the allow-list', () => {
  test.each([
    ['no secret header', null],
    ['a wrong secret', 'x'.repeat(CURRENT.length)],
    ['a prefix of the secret', CURRENT.slice(0, 10)],
  ])('%s → 403, nothing forwarded', async (_name, secret) => {
    const before = logs.length;
    for (const path of ['/console/api/files/upload', '/e/hook-1/x']) {
      const answer = await cloudFrontSends({ method: 'POST', path, secret, body: Buffer.from('data') });
      expect(answer.status).toBe(403);
      expect(jsonOf<{ error: string }>(answer).error).toBe('forbidden');
    }
    expect(functionUrl.received).toHaveLength(0);
    expect(daemon.received).toHaveLength(0);
    expect(JSON.stringify(logs.slice(before))).not.toContain(CURRENT.slice(0, 10));
  });

  test('the previous value (during a rotation) is accepted', async () => {
    const answer = await cloudFrontSends({
      method: 'POST',
      path: '/v1/files/upload',
      secret: PREVIOUS,
      body: Buffer.from('x'),
    });
    expect(answer.status).toBe(200);
  });

  test.each([
    '/console/api/apps',
    '/console/api/setup',
    '/v1/chat-messages',
    '/plugin/abc/management/list',
    '/e',
    '/console/api/files/upload/extra',
    '/e/hook/%2e%2e/%2e%2e/plugin/x',
    '/e/hook/..%2F..%2Fplugin',
  ])('%s is outside the allow-list → 404, nothing forwarded', async (path) => {
    const answer = await cloudFrontSends({ method: 'POST', path, body: Buffer.from('{}') });
    expect(answer.status).toBe(404);
    expect(functionUrl.received).toHaveLength(0);
    expect(daemon.received).toHaveLength(0);
  });

  test('dot segments that would leave /e/ never reach the daemon', async () => {
    const answer = await cloudFrontSends({ method: 'GET', path: '/e/../plugin/list' });
    expect(answer.status).toBe(404);
    expect(daemon.received).toHaveLength(0);
  });

  test('path matching follows CloudFront patterns for every upload route', () => {
    expect(relayTarget('/v1/datasets/0b6e/document/create-by-file')).toBe('api');
    expect(relayTarget('/v1/datasets/0b6e/documents/9f/update_by_file')).toBe('api');
    expect(relayTarget('/console/api/apps/1/audio-to-text')).toBe('api');
    expect(relayTarget('/console/api/installed-apps/1/audio-to-text')).toBe('api');
    expect(relayTarget('/console/api/apps/1/annotations/batch-import')).toBe('api');
    expect(relayTarget('/console/api/workspaces/current/plugin/upload/bundle')).toBe('api');
    expect(relayTarget('/console/api/rag/pipelines/imports')).toBe('api');
    expect(relayTarget('/triggers/webhook/3f1c0e9a-hook')).toBe('api');
    expect(relayTarget('/triggers/webhook-debug/3f1c0e9a-hook')).toBe('api');
    expect(relayTarget('/triggers/plugin/anything')).toBeUndefined();
    expect(relayTarget('/e/hook/anything')).toBe('plugin-endpoint');
    expect(relayTarget('/console/api/FILES/upload')).toBeUndefined();
  });
});

describe('upload relay: plugin endpoints', () => {
  test('/e/ reaches the daemon with Dify-Hook-Url, the viewer Authorization and the exact body', async () => {
    const body = randomBytes(3 * MB);
    const answer = await cloudFrontSends({
      method: 'POST',
      path: '/e/8c4d5b0f-hook/webhook/in?x=1&y=2',
      headers: { 'content-type': 'application/octet-stream', [FORWARDED_AUTHORIZATION_HEADER]: 'Bearer plugin-user' },
      body,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-plugin']).toBe('echo');
    expect(jsonOf(answer)).toEqual({ hook: 'answered' });
    const received = daemon.received[0];
    expect(received).toMatchObject({
      method: 'POST',
      path: '/e/8c4d5b0f-hook/webhook/in?x=1&y=2',
      bodySha256: sha256Hex(body),
    });
    expect(received.headers[HOOK_URL_HEADER]).toBe(`${SITE}/e/8c4d5b0f-hook/webhook/in?x=1&y=2`);
    expect(received.headers.authorization).toBe('Bearer plugin-user');
    expect(received.headers[FORWARDED_AUTHORIZATION_HEADER]).toBeUndefined();
    expect(received.headers[RELAY_SECRET_HEADER]).toBeUndefined();
    expect(received.headers['x-amz-content-sha256']).toBeUndefined();
    expect(functionUrl.received).toHaveLength(0);
  });

  test('a stopped daemon → 503 JSON with Retry-After', async () => {
    const port = network.daemonPort;
    network.daemonPort = undefined;
    try {
      const answer = await cloudFrontSends({ method: 'GET', path: '/e/hook/status' });
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe(String(DAEMON_RETRY_AFTER_SECONDS));
      expect(jsonOf<{ error: string }>(answer).error).toBe('backend_unavailable');
    } finally {
      network.daemonPort = port;
    }
  });

  test('a daemon that refuses connections (task starting) → 503 too', async () => {
    const stopped = await startDaemonStandIn();
    const port = stopped.port;
    await stopped.close();
    const saved = network.daemonPort;
    network.daemonPort = port;
    try {
      const answer = await cloudFrontSends({ method: 'POST', path: '/e/hook/x', body: Buffer.from('{}') });
      expect(answer.status).toBe(503);
    } finally {
      network.daemonPort = saved;
    }
  });
});

describe('upload relay: secret rotation', () => {
  test('a new value is accepted once the cache expires, without a restart', async () => {
    const NEXT = 'n'.repeat(20) + randomBytes(16).toString('hex');
    const before = await cloudFrontSends({
      method: 'POST',
      path: '/v1/files/upload',
      secret: NEXT,
      body: Buffer.from('x'),
    });
    expect(before.status).toBe(403);
    secretValues[0] = { ...secretValues[0], secretString: JSON.stringify({ current: NEXT, previous: CURRENT }) };
    try {
      clock += SECRET_CACHE_MS;
      for (const secret of [NEXT, CURRENT]) {
        const answer = await cloudFrontSends({
          method: 'POST',
          path: '/v1/files/upload',
          secret,
          body: Buffer.from('x'),
        });
        expect(answer.status).toBe(200);
      }
      const old = await cloudFrontSends({
        method: 'POST',
        path: '/v1/files/upload',
        secret: PREVIOUS,
        body: Buffer.from('x'),
      });
      expect(old.status).toBe(403);
    } finally {
      secretValues[0] = { ...secretValues[0], secretString: JSON.stringify({ current: CURRENT, previous: PREVIOUS }) };
      clock += SECRET_CACHE_MS;
    }
  });
});
