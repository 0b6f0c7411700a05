import { createHash, randomBytes } from 'node:crypto';
import type { CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResultResponse } from 'aws-lambda';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { handler } from '../../edge/payload-signer';
import { header, multipartUpload, originRequestEvent, requestOf } from './origin-request-event';

// Computed here, independently of the code under test.
function expectedSha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
const SHA256_OF_NOTHING = expectedSha256('');

function asRequest(result: CloudFrontRequest | CloudFrontResultResponse): CloudFrontRequest {
  expect(result).toHaveProperty('uri');
  return result as CloudFrontRequest;
}

function asResponse(result: CloudFrontRequest | CloudFrontResultResponse): CloudFrontResultResponse {
  expect(result).toHaveProperty('status');
  expect(result).not.toHaveProperty('uri');
  return result as CloudFrontResultResponse;
}

function contentSha256Of(request: CloudFrontRequest): string[] {
  return (request.headers['x-amz-content-sha256'] ?? []).map((entry) => entry.value);
}

describe('payload signer: x-amz-content-sha256', () => {
  test('POST JSON gets the SHA-256 of its bytes and is otherwise forwarded untouched', async () => {
    const body = Buffer.from(JSON.stringify({ inputs: {}, query: 'こんにちは, Dify', response_mode: 'streaming' }));
    const event = originRequestEvent({
      method: 'POST',
      uri: '/v1/chat-messages',
      querystring: 'debug=false&lang=ja',
      headers: { ...header('Content-Type', 'application/json'), ...header('Accept', 'text/event-stream') },
      body,
    });
    const before = structuredClone(requestOf(event));

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([expectedSha256(body)]);
    expect(request.headers['x-amz-content-sha256']).toEqual([
      { key: 'x-amz-content-sha256', value: expectedSha256(body) },
    ]);
    expect(request.body).toEqual(before.body);
    expect(request.body?.action).toBe('read-only');
    expect(request.method).toBe('POST');
    expect(request.uri).toBe('/v1/chat-messages');
    expect(request.querystring).toBe('debug=false&lang=ja');
    expect(request.origin).toEqual(before.origin);
    const { 'x-amz-content-sha256': added, ...otherHeaders } = request.headers;
    expect(added).toHaveLength(1);
    expect(otherHeaders).toEqual(before.headers);
  });

  test('multipart upload with bytes that are not valid UTF-8 is hashed as raw bytes', async () => {
    const fileBytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]), randomBytes(4096)]);
    const body = multipartUpload('----DifyBoundary7MA4YWxkTrZu0gW', fileBytes, { user: 'abc-123' });
    const event = originRequestEvent({
      method: 'POST',
      uri: '/console/api/files/upload',
      headers: header('Content-Type', 'multipart/form-data; boundary=----DifyBoundary7MA4YWxkTrZu0gW'),
      body,
    });

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([expectedSha256(body)]);
    // Hashing a decoded string (the classic bug) would replace invalid bytes with U+FFFD and give another hash.
    expect(contentSha256Of(request)[0]).not.toBe(expectedSha256(Buffer.from(body.toString('utf8'), 'utf8')));
    expect(Buffer.from(request.body?.data ?? '', 'base64').equals(body)).toBe(true);
  });

  test('empty body data hashes as the empty string', async () => {
    const event = originRequestEvent({ method: 'POST', uri: '/console/api/logout', body: Buffer.alloc(0) });
    expect(requestOf(event).body?.data).toBe('');

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([SHA256_OF_NOTHING]);
    expect(request.body?.data).toBe('');
  });

  test('GET without a body object hashes as the empty string and gets no body', async () => {
    const event = originRequestEvent({
      method: 'GET',
      uri: '/v1/messages',
      querystring: 'conversation_id=c1&limit=20',
    });

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([SHA256_OF_NOTHING]);
    expect(request.body).toBeUndefined();
  });

  test('a 1 MB body that was not truncated is hashed in full', async () => {
    const body = randomBytes(1024 * 1024);
    const event = originRequestEvent({ method: 'PUT', uri: '/console/api/apps/imports', body });

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([expectedSha256(body)]);
  });

  test('a body with text encoding is hashed as UTF-8', async () => {
    const event = originRequestEvent({ method: 'POST' });
    requestOf(event).body = { action: 'read-only', data: '{"q":"ü"}', encoding: 'text', inputTruncated: false };

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([expectedSha256(Buffer.from('{"q":"ü"}', 'utf8'))]);
  });

  test('a viewer-sent x-amz-content-sha256 in any case is replaced by the real hash', async () => {
    const body = Buffer.from('{"name":"forged"}');
    const event = originRequestEvent({ method: 'POST', body });
    const headers = requestOf(event).headers;
    headers['x-amz-content-sha256'] = [{ key: 'x-amz-content-sha256', value: 'UNSIGNED-PAYLOAD' }];
    headers['X-Amz-Content-Sha256'] = [{ key: 'X-Amz-Content-Sha256', value: SHA256_OF_NOTHING }];

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([expectedSha256(body)]);
    expect(Object.keys(request.headers).filter((name) => name.toLowerCase() === 'x-amz-content-sha256')).toEqual([
      'x-amz-content-sha256',
    ]);
  });

  test.each(['PATCH', 'OPTIONS', 'PROPFIND', 'DELETE'])(
    '%s requests are signed and keep their method',
    async (method) => {
      const body = method === 'OPTIONS' ? undefined : Buffer.from(`<propfind method="${method}"/>`);
      const event = originRequestEvent({ method, uri: '/console/api/apps/1234', body });

      const request = asRequest(await handler(event));

      expect(request.method).toBe(method);
      expect(contentSha256Of(request)).toEqual([body ? expectedSha256(body) : SHA256_OF_NOTHING]);
    },
  );
});

describe('payload signer: bodies Lambda@Edge truncated', () => {
  test('a truncated 1 MB body is answered with 413 JSON and not forwarded', async () => {
    const firstMegabyte = randomBytes(1024 * 1024);
    const event = originRequestEvent({
      method: 'POST',
      uri: '/console/api/files/upload',
      headers: { ...header('Authorization', 'Bearer console-token'), ...header('Content-Type', 'application/pdf') },
      body: firstMegabyte,
      inputTruncated: true,
    });

    const response = asResponse(await handler(event));

    expect(response.status).toBe('413');
    expect(response.statusDescription).toBe('Payload Too Large');
    expect(response.headers?.['content-type']?.[0].value).toBe('application/json; charset=utf-8');
    expect(response.headers?.['cache-control']?.[0].value).toBe('no-store');
    expect(response.bodyEncoding ?? 'text').toBe('text');
    const payload = JSON.parse(response.body ?? '') as { error: string; message: string };
    expect(payload.error).toBe('payload_too_large');
    expect(payload.message).toMatch(/1 MB/);
    expect(response.body?.length).toBeLessThan(1024);
  });
});

describe('payload signer: Authorization', () => {
  test('moves the viewer Authorization into the forwarded header and drops the original', async () => {
    const event = originRequestEvent({
      method: 'GET',
      uri: '/v1/messages',
      headers: header('Authorization', 'Bearer app-abc'),
    });

    const request = asRequest(await handler(event));

    expect(FORWARDED_AUTHORIZATION_HEADER).toBe('x-dify-authorization');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers[FORWARDED_AUTHORIZATION_HEADER].map((entry) => entry.value)).toEqual(['Bearer app-abc']);
    expect(request.headers[FORWARDED_AUTHORIZATION_HEADER][0].key?.toLowerCase()).toBe(FORWARDED_AUTHORIZATION_HEADER);
  });

  test('adds no forwarded header when the viewer sent no Authorization', async () => {
    const request = asRequest(await handler(originRequestEvent({ method: 'POST', body: Buffer.from('{}') })));

    expect(Object.keys(request.headers).map((name) => name.toLowerCase())).not.toContain(
      FORWARDED_AUTHORIZATION_HEADER,
    );
    expect(request.headers.authorization).toBeUndefined();
  });

  test('keeps a forwarded header the viewer-request function already set', async () => {
    const forwarded = header('x-dify-authorization', 'Bearer from-cloudfront-function');
    const event = originRequestEvent({ method: 'GET', uri: '/v1/messages', headers: forwarded });

    const request = asRequest(await handler(event));

    expect(request.headers[FORWARDED_AUTHORIZATION_HEADER]).toEqual(forwarded[FORWARDED_AUTHORIZATION_HEADER]);
  });

  test('the viewer Authorization replaces a stale forwarded copy', async () => {
    const event = originRequestEvent({
      headers: { ...header('X-Dify-Authorization', 'Bearer stale'), ...header('Authorization', 'Bearer current') },
    });

    const request = asRequest(await handler(event));

    expect(request.headers[FORWARDED_AUTHORIZATION_HEADER].map((entry) => entry.value)).toEqual(['Bearer current']);
  });

  test('header map keys and key fields in any case are recognised', async () => {
    const event = originRequestEvent({ method: 'POST', body: Buffer.from('{}') });
    const headers = requestOf(event).headers;
    headers['Authorization'] = [{ key: 'AUTHORIZATION', value: 'Bearer upper' }];
    headers['authorization'] = [{ key: 'authorization', value: 'Bearer lower' }];

    const request = asRequest(await handler(event));

    expect(Object.keys(request.headers).filter((name) => name.toLowerCase() === 'authorization')).toEqual([]);
    expect(request.headers[FORWARDED_AUTHORIZATION_HEADER].map((entry) => entry.value).sort()).toEqual([
      'Bearer lower',
      'Bearer upper',
    ]);
  });

  test('multi-value Authorization keeps every value in order', async () => {
    const event = originRequestEvent({ headers: header('Authorization', 'Bearer first', 'Basic c2Vjb25k') });

    const request = asRequest(await handler(event));

    expect(request.headers[FORWARDED_AUTHORIZATION_HEADER].map((entry) => entry.value)).toEqual([
      'Bearer first',
      'Basic c2Vjb25k',
    ]);
  });
});

describe('payload signer: odd input never throws', () => {
  test('a request without a headers object gets one with the hash', async () => {
    const body = Buffer.from('{"a":1}');
    const event = originRequestEvent({ method: 'POST', body });
    delete (requestOf(event) as Partial<CloudFrontRequest>).headers;

    const request = asRequest(await handler(event));

    expect(contentSha256Of(request)).toEqual([expectedSha256(body)]);
  });

  test('malformed header entries and a non-string body are tolerated', async () => {
    const event = originRequestEvent({ method: 'POST' });
    const request = requestOf(event);
    // Deliberately wrong shapes that the CloudFront types forbid.
    (request.headers as unknown as Record<string, unknown>).authorization = 'Bearer not-an-array';
    (request.headers as unknown as Record<string, unknown>)['x-odd'] = null;
    (request as unknown as { body: unknown }).body = { action: 'read-only', data: 42, encoding: 'base64' };

    const signed = asRequest(await handler(event));

    expect(contentSha256Of(signed)).toEqual([SHA256_OF_NOTHING]);
    expect(signed.headers.authorization).toBeUndefined();
    expect(signed.headers['x-odd']).toBeNull();
  });

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['no records', { Records: [] }],
    ['a record without cf', { Records: [{}] }],
    ['a cf without request', { Records: [{ cf: { config: {} } }] }],
    ['a string request', { Records: [{ cf: { request: 'GET /' } }] }],
  ])('a structurally broken event (%s) gets a 400 JSON response', async (_label, brokenEvent) => {
    const response = asResponse(await handler(brokenEvent as unknown as CloudFrontRequestEvent));

    expect(response.status).toBe('400');
    expect(response.headers?.['content-type']?.[0].value).toMatch(/^application\/json/);
    expect(JSON.parse(response.body ?? '')).toMatchObject({ error: 'bad_request' });
  });
});
