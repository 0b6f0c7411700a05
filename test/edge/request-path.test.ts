/**
 * The whole request path as far as it runs offline, over real HTTP on 127.0.0.1:
 * viewer → CloudFront stand-in (real viewer-request function, origin request policy, real Lambda@Edge payload
 * signer, OAC SigV4) → function URL stand-in (IAM SigV4 + payload hash check, then the Lambda Web Adapter's
 * Authorization restore) → an app that echoes what Dify would see.
 */
import { randomBytes } from 'node:crypto';
import { EDGE_BODY_LIMIT_BYTES, FORWARDED_AUTHORIZATION_HEADER, PAYLOAD_TOO_LARGE_MESSAGE } from '../../edge/constants';
import { multipartUpload } from './origin-request-event';
import {
  type AppEcho,
  type EdgeOptions,
  type EdgeStandIn,
  type FunctionUrlStandIn,
  type HttpAnswer,
  jsonOf,
  sendHttp,
  sha256Hex,
  startEdgeStandIn,
  startFunctionUrlStandIn,
} from './request-path-support';

interface ViewerRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

const CHAT_BODY = Buffer.from(
  JSON.stringify({ inputs: {}, query: 'こんにちは', response_mode: 'blocking', user: 'user-42' }),
  'utf8',
);

let functionUrl: FunctionUrlStandIn;
let edge: EdgeStandIn;

beforeAll(async () => {
  functionUrl = await startFunctionUrlStandIn();
  edge = await startEdgeStandIn(functionUrl.port, { viewerFunction: true, payloadSigner: true });
});

afterAll(async () => {
  await edge?.close();
  await functionUrl?.close();
});

function viewerSends(request: ViewerRequest, through: EdgeStandIn = edge): Promise<HttpAnswer> {
  const headers = { ...request.headers };
  if (request.body !== undefined) headers['Content-Length'] = String(request.body.length);
  return sendHttp({ port: through.port, method: request.method, path: request.path, headers, body: request.body });
}

async function withEdge<T>(options: EdgeOptions, run: (other: EdgeStandIn) => Promise<T>): Promise<T> {
  const other = await startEdgeStandIn(functionUrl.port, options);
  try {
    return await run(other);
  } finally {
    await other.close();
  }
}

function expectForbidden(answer: HttpAnswer, reason: RegExp): void {
  expect(answer.status).toBe(403);
  expect(jsonOf<{ message: string }>(answer).message).toMatch(reason);
}

describe('request path: viewer → CloudFront → payload signer → OAC → function URL → Web Adapter', () => {
  test('a JSON POST with a Bearer token reaches the app signed, with its token and its exact body', async () => {
    const answer = await viewerSends({
      method: 'POST',
      path: '/v1/chat-messages',
      headers: { Authorization: 'Bearer app-123', 'Content-Type': 'application/json' },
      body: CHAT_BODY,
    });

    expect(answer.status).toBe(200);
    const echo = jsonOf<AppEcho>(answer);
    expect(echo).toMatchObject({
      method: 'POST',
      path: '/v1/chat-messages',
      authorization: 'Bearer app-123',
      forwardedAuthorizationHeaderVisible: false,
      bodyBytes: CHAT_BODY.length,
      bodySha256: sha256Hex(CHAT_BODY),
    });
    // What the function URL saw: OAC's signature in Authorization, the token only in the forwarded header.
    const received = functionUrl.received[functionUrl.received.length - 1];
    expect(received.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/ap-northeast-1\/lambda\/aws4_request, SignedHeaders=[^ ]*x-amz-content-sha256[^ ]*x-dify-authorization/,
    );
    expect(received.headers[FORWARDED_AUTHORIZATION_HEADER]).toBe('Bearer app-123');
  });

  test('a multipart upload of non-UTF-8 binary bytes arrives byte for byte', async () => {
    const fileBytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(200 * 1024)]);
    const body = multipartUpload('----difyBoundary7MA4YWxk', fileBytes);
    // The payload is not valid UTF-8, so any text round trip on the way would change its hash.
    expect(Buffer.from(body.toString('utf8'), 'utf8').equals(body)).toBe(false);

    const answer = await viewerSends({
      method: 'POST',
      path: '/console/api/files/upload?source=datasets',
      headers: {
        Authorization: 'Bearer console-access-token',
        'Content-Type': 'multipart/form-data; boundary=----difyBoundary7MA4YWxk',
      },
      body,
    });

    expect(answer.status).toBe(200);
    const echo = jsonOf<AppEcho>(answer);
    expect(echo.bodySha256).toBe(sha256Hex(body));
    expect(echo.bodyBytes).toBe(body.length);
    expect(echo.path).toBe('/console/api/files/upload');
    expect(echo.querystring).toBe('source=datasets');
    expect(echo.authorization).toBe('Bearer console-access-token');
  });

  test('a bodyless GET with a Bearer token reaches the app with its token', async () => {
    const answer = await viewerSends({
      method: 'GET',
      path: '/v1/messages?conversation_id=x',
      headers: { Authorization: 'Bearer app-123' },
    });

    expect(answer.status).toBe(200);
    expect(jsonOf<AppEcho>(answer)).toMatchObject({
      method: 'GET',
      path: '/v1/messages',
      querystring: 'conversation_id=x',
      authorization: 'Bearer app-123',
      bodyBytes: 0,
    });
  });

  test('accept-encoding from the viewer does not reach the function URL', async () => {
    const answer = await viewerSends({
      method: 'GET',
      path: '/console/api/apps?page=1',
      headers: { Authorization: 'Bearer console-access-token', 'Accept-Encoding': 'gzip, deflate, br' },
    });

    expect(answer.status).toBe(200);
    expect(jsonOf<AppEcho>(answer).acceptEncodingArrived).toBe(false);
    expect(functionUrl.received[functionUrl.received.length - 1].headers['accept-encoding']).toBeUndefined();
  });

  test('a body over 1 MB gets the signer 413 and never reaches the function URL', async () => {
    const before = functionUrl.received.length;

    const answer = await viewerSends({
      method: 'POST',
      path: '/console/api/files/upload',
      headers: { Authorization: 'Bearer console-access-token', 'Content-Type': 'application/octet-stream' },
      body: randomBytes(EDGE_BODY_LIMIT_BYTES + 1),
    });

    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(jsonOf<{ error: string; message: string }>(answer)).toMatchObject({
      error: 'payload_too_large',
      message: PAYLOAD_TOO_LARGE_MESSAGE,
    });
    expect(functionUrl.received.length).toBe(before);
  });

  test('a body of exactly 1 MB still passes', async () => {
    const body = randomBytes(EDGE_BODY_LIMIT_BYTES);

    const answer = await viewerSends({
      method: 'POST',
      path: '/console/api/files/upload',
      headers: { Authorization: 'Bearer console-access-token', 'Content-Type': 'application/octet-stream' },
      body,
    });

    expect(answer.status).toBe(200);
    expect(jsonOf<AppEcho>(answer).bodySha256).toBe(sha256Hex(body));
  });

  test.each(['/threads', '/db-pool-stat', '/%74hreads/1'])('%s is answered 404 at the edge', async (path) => {
    const before = functionUrl.received.length;

    const answer = await viewerSends({ method: 'GET', path, headers: { Authorization: 'Bearer app-123' } });

    expect(answer.status).toBe(404);
    expect(jsonOf<{ error: string }>(answer)).toEqual({ error: 'not_found' });
    expect(functionUrl.received.length).toBe(before);
  });
});

describe('request path: negative controls proving the function URL stand-in checks what Lambda checks', () => {
  async function signedUpload(): Promise<{ body: Buffer; signed: EdgeStandIn['originRequests'][number] }> {
    const body = multipartUpload(
      'ctrlBoundary',
      Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(4096)]),
    );
    const answer = await viewerSends({
      method: 'POST',
      path: '/console/api/files/upload',
      headers: {
        Authorization: 'Bearer console-access-token',
        'Content-Type': 'multipart/form-data; boundary=ctrlBoundary',
      },
      body,
    });
    expect(answer.status).toBe(200);
    return { body, signed: edge.originRequests[edge.originRequests.length - 1] };
  }

  test('replaying the signed request unchanged passes, with one body byte changed it is refused', async () => {
    const { body, signed } = await signedUpload();
    const tampered = Buffer.from(body);
    tampered[tampered.length - 40] ^= 0x01;

    const replay = await sendHttp(signed);
    const tamperedReplay = await sendHttp({ ...signed, body: tampered });

    expect(replay.status).toBe(200);
    expect(jsonOf<AppEcho>(replay).bodySha256).toBe(sha256Hex(body));
    expectForbidden(tamperedReplay, /x-amz-content-sha256 header does not match/);
  });

  test('a changed body with a matching x-amz-content-sha256 fails the signature, which covers the hash', async () => {
    const { body, signed } = await signedUpload();
    const tampered = Buffer.from(body);
    tampered[tampered.length - 40] ^= 0x01;

    const answer = await sendHttp({
      ...signed,
      headers: { ...signed.headers, 'x-amz-content-sha256': sha256Hex(tampered) },
      body: tampered,
    });

    expectForbidden(answer, /signature we calculated does not match/);
  });

  test('a swapped forwarded token fails the signature', async () => {
    const { signed } = await signedUpload();

    const answer = await sendHttp({
      ...signed,
      headers: { ...signed.headers, [FORWARDED_AUTHORIZATION_HEADER]: 'Bearer someone-else' },
    });

    expectForbidden(answer, /signature we calculated does not match/);
  });

  test('without the payload signer, OAC alone sends a body without x-amz-content-sha256 and Lambda refuses it', async () => {
    await withEdge({ viewerFunction: true, payloadSigner: false }, async (oacOnly) => {
      const before = functionUrl.received.length;

      const answer = await viewerSends(
        {
          method: 'POST',
          path: '/v1/chat-messages',
          headers: { Authorization: 'Bearer app-123', 'Content-Type': 'application/json' },
          body: CHAT_BODY,
        },
        oacOnly,
      );

      expectForbidden(answer, /must carry x-amz-content-sha256/);
      expect(functionUrl.received.length).toBe(before + 1);
      expect(functionUrl.received[before].headers['x-amz-content-sha256']).toBeUndefined();
    });
  });

  test('without the viewer-request function the Bearer token is lost and accept-encoding gets through', async () => {
    await withEdge({ viewerFunction: false, payloadSigner: true }, async (noViewerFunction) => {
      const answer = await viewerSends(
        {
          method: 'GET',
          path: '/v1/messages?conversation_id=x',
          headers: { Authorization: 'Bearer app-123', 'Accept-Encoding': 'gzip, br' },
        },
        noViewerFunction,
      );

      expect(answer.status).toBe(200);
      const echo = jsonOf<AppEcho>(answer);
      // The app sees OAC's signature where Dify expects the Bearer token.
      expect(echo.authorization).not.toContain('app-123');
      expect(echo.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
      expect(echo.acceptEncodingArrived).toBe(true);
    });
  });
});
