import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { ENVIRONMENT } from '../../functions/upload-relay/environment';
import {
  HOOK_URL_HEADER,
  RELAY_BODY_LIMIT_BYTES,
  RELAY_PAYLOAD_TOO_LARGE_MESSAGE,
  RELAY_SECRET_HEADER,
} from '../../functions/upload-relay/routes';
import { buildLlrtBundle } from '../support/llrt-bundle';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from '../containers/fake-secrets-manager';
import { API_FUNCTION_URL_HOST, type AppEcho, sha256Hex, startFunctionUrlStandIn } from '../edge/request-path-support';
import type { FunctionUrlStandIn } from '../edge/request-path-support';
import { fakeCredentials } from './local-server';
import {
  PLUGIN_DAEMON_HOST,
  RELAY_FUNCTION_URL_HOST,
  startDaemonStandIn,
  type DaemonStandIn,
} from './upload-relay-support';
import { nonUtf8Multipart } from './upload-relay-support';

const SITE = 'https://dify.example.com';
const CURRENT = 'bundle' + randomBytes(20).toString('hex');
const MB = 1024 * 1024;

/**
 * The relay bundled exactly as its LLRT function is (lib/llrt-function.ts: browser platform, ESM, minified, only the
 * runtime-provided Secrets Manager client external) and run in a separate Node.js process against the same
 * stand-ins as test/functions/upload-relay.test.ts: the verifying api function URL (SigV4 and the body hash) and the
 * plugin daemon. There is no LLRT binary here (no internet), so this is the closest check that the browser build of
 * hono, @smithy/signature-v4 and the pure-JavaScript SHA-256 hash whole binary bodies correctly. As in LLRT's fetch
 * (LLRT API.md, "FETCH"), `Response.body` is null in the runner. Its fetch resolves the api function URL and
 * `backend.dify.internal:5002` to the stand-ins over HTTP (Host kept for SigV4); any other host, or the daemon when
 * `daemonStopped`, fails like an unresolvable name.
 */
const RUNNER = `
Object.defineProperty(Response.prototype, 'body', { get() { return null; } });
const fs = await import('node:fs');
const http = await import('node:http');
const { createHandler } = await import('./index.mjs');
const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function send(port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function fetchOverStandIns(input_, init) {
  const url = new URL(input_);
  const port = input.ports[url.protocol + '//' + url.host];
  if (port === undefined) throw new TypeError('fetch failed: getaddrinfo ENOTFOUND ' + url.hostname);
  const headers = { ...init.headers, host: url.host };
  const body = init.body instanceof Uint8Array ? Buffer.from(init.body) : undefined;
  if (body) headers['content-length'] = String(body.length);
  const answer = await send(port, init.method ?? 'GET', url.pathname + url.search, headers, body);
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const entry of Array.isArray(value) ? value : [value]) responseHeaders.append(name, entry);
  }
  return new Response(answer.body.length > 0 ? answer.body : null, { status: answer.status, headers: responseHeaders });
}

const secretsManager = new SecretsManagerClient({
  endpoint: input.secretsEndpoint,
  region: 'ap-northeast-1',
  credentials: input.credentials,
});
const handler = createHandler(input.env, { secretsManager, fetch: fetchOverStandIns, log: () => undefined });
const results = [];
for (const event of input.events) results.push(await handler(event));
process.stdout.write(JSON.stringify(results));
`;

interface RelayRequest {
  method: string;
  path: string;
  query?: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Payload format 2.0 as the relay's function URL builds it from what CloudFront sends (body base64). */
function eventFor(request: RelayRequest): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: request.query ?? '',
    headers: { ...request.headers, host: RELAY_FUNCTION_URL_HOST },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'r3lay',
      domainName: RELAY_FUNCTION_URL_HOST,
      domainPrefix: 'r3lay',
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: '130.176.0.1',
        userAgent: 'Amazon CloudFront',
      },
      requestId: 'bundle-request',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    ...(request.body ? { body: request.body.toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
  };
}

interface HandlerResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

function bodyText(result: HandlerResult): string {
  return Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
}

describe('the LLRT bundle of the upload relay', () => {
  let dir: string;
  let secrets: FakeSecretsManager;
  let functionUrl: FunctionUrlStandIn;
  let daemon: DaemonStandIn;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-relay-bundle-'));
    await buildLlrtBundle('functions/upload-relay/index.ts', ['@aws-sdk/client-secrets-manager'], dir);
    fs.writeFileSync(path.join(dir, 'run.mjs'), RUNNER);
    secrets = await startFakeSecretsManager([
      { name: 'relay', arn: secretArn('relay'), secretString: JSON.stringify({ current: CURRENT, previous: '' }) },
      { name: 'site', arn: secretArn('site'), secretString: JSON.stringify({ siteUrl: SITE }) },
    ]);
    functionUrl = await startFunctionUrlStandIn();
    daemon = await startDaemonStandIn();
  });

  afterAll(async () => {
    await daemon?.close();
    await functionUrl?.close();
    await secrets?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    functionUrl.received.length = 0;
    daemon.received.length = 0;
  });

  /** Runs the bundled handler on `requests` in a Node.js process of its own. */
  async function runBundle(requests: RelayRequest[], options: { daemonStopped?: boolean } = {}) {
    const ports: Record<string, number> = { [`https://${API_FUNCTION_URL_HOST}`]: functionUrl.port };
    if (!options.daemonStopped) ports[`http://${PLUGIN_DAEMON_HOST}`] = daemon.port;
    const input = {
      env: {
        [ENVIRONMENT.apiUrl]: `https://${API_FUNCTION_URL_HOST}/`,
        [ENVIRONMENT.pluginDaemonUrl]: `http://${PLUGIN_DAEMON_HOST}`,
        [ENVIRONMENT.originSecretArn]: secretArn('relay'),
        [ENVIRONMENT.siteUrlSecretArn]: secretArn('site'),
        AWS_REGION: 'ap-northeast-1',
        AWS_ACCESS_KEY_ID: fakeCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: fakeCredentials.secretAccessKey,
      },
      secretsEndpoint: secrets.endpoint,
      credentials: fakeCredentials,
      ports,
      events: requests.map(eventFor),
    };
    // Bodies of several MB do not fit an environment variable (Linux caps one at 128 KiB): pass a file.
    const inputFile = path.join(dir, `input-${randomBytes(4).toString('hex')}.json`);
    fs.writeFileSync(inputFile, JSON.stringify(input));
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['run.mjs', inputFile], {
        cwd: dir,
        maxBuffer: 64 * MB,
        timeout: 60_000,
      });
      return JSON.parse(stdout) as HandlerResult[];
    } finally {
      fs.rmSync(inputFile, { force: true });
    }
  }

  test('is browser-platform code with no Node.js built-in imports', () => {
    const code = fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).not.toMatch(/from\s*["'](?:http2?|https|crypto|buffer)["']/);
    expect(code).toMatch(/from\s*["']@aws-sdk\/client-secrets-manager["']/);
  });

  test('non-UTF-8 multipart bodies of 1, 3 and 4 MB reach the api function URL byte-identical and signed', async () => {
    const bodies = [1, 3, 4].map((size) => nonUtf8Multipart('----bundle', size * MB));
    const results = await runBundle(
      bodies.map((body) => ({
        method: 'POST',
        path: '/console/api/files/upload',
        query: 'source=datasets',
        headers: {
          'content-type': 'multipart/form-data; boundary=----bundle',
          [FORWARDED_AUTHORIZATION_HEADER]: 'Bearer console-token',
          [RELAY_SECRET_HEADER]: CURRENT,
        },
        body,
      })),
    );
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    results.forEach((result, i) => {
      expect(JSON.parse(bodyText(result)) as AppEcho).toMatchObject({
        method: 'POST',
        path: '/console/api/files/upload',
        querystring: 'source=datasets',
        authorization: 'Bearer console-token',
        bodyBytes: bodies[i].length,
        bodySha256: sha256Hex(bodies[i]),
      });
    });
    expect(functionUrl.received).toHaveLength(3);
  });

  test('a wrong secret gets 403, a path outside the list 404, an oversize body 413: nothing is forwarded', async () => {
    const [wrongSecret, outside, tooLarge] = await runBundle([
      { method: 'POST', path: '/v1/files/upload', headers: { [RELAY_SECRET_HEADER]: 'nope' }, body: randomBytes(64) },
      { method: 'GET', path: '/console/api/apps', headers: { [RELAY_SECRET_HEADER]: CURRENT } },
      {
        method: 'POST',
        path: '/api/audio-to-text',
        headers: { 'content-type': 'audio/webm', [RELAY_SECRET_HEADER]: CURRENT },
        body: randomBytes(RELAY_BODY_LIMIT_BYTES + 1),
      },
    ]);
    expect(wrongSecret.statusCode).toBe(403);
    expect(outside.statusCode).toBe(404);
    expect(tooLarge.statusCode).toBe(413);
    expect(JSON.parse(bodyText(tooLarge))).toEqual({
      error: 'payload_too_large',
      message: RELAY_PAYLOAD_TOO_LARGE_MESSAGE,
      limitBytes: RELAY_BODY_LIMIT_BYTES,
    });
    expect(functionUrl.received).toEqual([]);
    expect(daemon.received).toEqual([]);
  });

  test('/e/ reaches the plugin daemon with the public hook URL; a stopped daemon gives 503 with Retry-After', async () => {
    const hook = { method: 'POST', path: '/e/abc123/hook', headers: { [RELAY_SECRET_HEADER]: CURRENT } };
    const [answered] = await runBundle([{ ...hook, body: Buffer.from('{"ping":1}') }]);
    expect(answered.statusCode).toBe(200);
    expect(JSON.parse(bodyText(answered))).toEqual({ hook: 'answered' });
    expect(daemon.received).toHaveLength(1);
    expect(daemon.received[0]).toMatchObject({ method: 'POST', path: '/e/abc123/hook' });
    expect(daemon.received[0].headers[HOOK_URL_HEADER]).toBe(`${SITE}/e/abc123/hook`);

    const [stopped] = await runBundle([hook], { daemonStopped: true });
    expect(stopped.statusCode).toBe(503);
    expect(Object.keys(stopped.headers ?? {}).map((name) => name.toLowerCase())).toContain('retry-after');
  });
});
