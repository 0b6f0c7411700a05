import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { Hono } from 'hono';
import { bearerToken, constantTimeEqual } from '../../functions/shared/bearer-auth';
import {
  functionUrlHandler,
  functionUrlResultFromResponse,
  requestFromFunctionUrlEvent,
} from '../../functions/shared/function-url-adapter';

/** A function URL event in payload format 2.0 (AWS Lambda DG, "Invoking Lambda function URLs"). */
function event(overrides: Partial<LambdaFunctionURLEvent> & { method?: string } = {}): LambdaFunctionURLEvent {
  const { method = 'GET', ...rest } = overrides;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/upload/file.bin',
    rawQueryString: 'a=1&b=two%20words&a=3',
    cookies: ['session=abc', 'theme=dark'],
    headers: { host: 'fn.lambda-url.ap-northeast-1.on.aws', 'x-custom': 'one,two', 'content-type': 'text/plain' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'fn',
      domainName: 'fn.lambda-url.ap-northeast-1.on.aws',
      domainPrefix: 'fn',
      http: { method, path: '/upload/file.bin', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...rest,
  };
}

describe('function URL adapter', () => {
  test('builds the URL from host, rawPath and rawQueryString, and puts cookies back into one Cookie header', () => {
    const request = requestFromFunctionUrlEvent(event());
    expect(request.url).toBe('https://fn.lambda-url.ap-northeast-1.on.aws/upload/file.bin?a=1&b=two%20words&a=3');
    expect(new URL(request.url).searchParams.getAll('a')).toEqual(['1', '3']);
    expect(request.method).toBe('GET');
    expect(request.headers.get('cookie')).toBe('session=abc; theme=dark');
    expect(request.headers.get('x-custom')).toBe('one,two');
  });

  test('decodes a base64 body to the exact bytes and passes a text body through', async () => {
    const bytes = Uint8Array.from([0, 1, 2, 254, 255, 10, 13]);
    const binary = requestFromFunctionUrlEvent(
      event({ method: 'POST', body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true }),
    );
    expect(new Uint8Array(await binary.arrayBuffer())).toEqual(bytes);
    const text = requestFromFunctionUrlEvent(event({ method: 'PUT', body: '{"é": 1}' }));
    expect(await text.text()).toBe('{"é": 1}');
  });

  test('GET and HEAD carry no body even if the event has one', async () => {
    const request = requestFromFunctionUrlEvent(event({ method: 'GET', body: 'ignored' }));
    expect(request.body).toBeNull();
  });

  test('text responses stay strings; binary ones are base64; Set-Cookie headers become cookies', async () => {
    const headers = new Headers({ 'content-type': 'application/json; charset=utf-8', 'x-id': '7' });
    headers.append('set-cookie', 'a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
    headers.append('set-cookie', 'b=2; Path=/');
    const text = await functionUrlResultFromResponse(new Response('{"ok":"日本"}', { status: 201, headers }));
    expect(text).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-id': '7' },
      cookies: ['a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2; Path=/'],
      body: '{"ok":"日本"}',
      isBase64Encoded: false,
    });
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => i % 256);
    const binary = await functionUrlResultFromResponse(
      new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }),
    );
    expect(binary.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(binary.body, 'base64'))).toEqual(bytes);
    expect(binary.cookies).toBeUndefined();
  });

  test('a hono app behind functionUrlHandler sees method, path, query, headers and body', async () => {
    const app = new Hono();
    app.post('/echo/:name', async (c) =>
      c.json({
        name: c.req.param('name'),
        q: c.req.query('q'),
        header: c.req.header('x-test'),
        body: await c.req.text(),
      }),
    );
    const handler = functionUrlHandler(app.fetch);
    const result = await handler(
      event({
        method: 'POST',
        rawPath: '/echo/dify',
        rawQueryString: 'q=%E6%97%A5',
        headers: { host: 'fn.example', 'x-test': 'yes' },
        body: 'aGVsbG8=',
        isBase64Encoded: true,
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ name: 'dify', q: '日', header: 'yes', body: 'hello' });
  });
});

describe('bearer token helpers', () => {
  test.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['BEARER  abc ', 'abc'],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    ['Basic abc', undefined],
    ['abc', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('bearerToken(%p) is %p', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  test('constantTimeEqual is exact equality, and an empty expected secret never matches', () => {
    expect(constantTimeEqual('s3cret', 's3cret')).toBe(true);
    expect(constantTimeEqual('s3cres', 's3cret')).toBe(false);
    expect(constantTimeEqual('s3cre', 's3cret')).toBe(false);
    expect(constantTimeEqual('s3cret!', 's3cret')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(false);
    expect(constantTimeEqual('日本', '日本')).toBe(true);
  });
});
