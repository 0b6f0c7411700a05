/**
 * Runs edge/viewer-request/index.js the way CloudFront Functions does: as a plain script that defines a top-level
 * `handler`, in a fresh context with no require, module, process or Buffer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { VIEWER_REQUEST_CONTEXT, loadViewerRequestFunction } from './request-path-support';
import {
  SNAPSTART_AFTER_RESTORE_PATH,
  SNAPSTART_BEFORE_CHECKPOINT_PATH,
  SNAPSTART_HOOK_PREFIX,
} from '../../lib/constructs/api-function';

const SOURCE_PATH = join(__dirname, '..', '..', 'edge', 'viewer-request', 'index.js');
const source = readFileSync(SOURCE_PATH, 'utf8');

interface FunctionsValue {
  value: string;
  multiValue?: Array<{ value: string }>;
}
interface FunctionsRequest {
  method: string;
  uri: string;
  querystring: Record<string, FunctionsValue>;
  headers: Record<string, FunctionsValue>;
  cookies: Record<string, FunctionsValue>;
}
interface FunctionsResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, FunctionsValue>;
  body?: { encoding: string; data: string } | string;
}
type ViewerRequestHandler = (event: unknown) => FunctionsRequest | FunctionsResponse;

// The same loader the request-path test uses: a fresh vm context with no require, module, process or Buffer.
const handler: ViewerRequestHandler = loadViewerRequestFunction() as ViewerRequestHandler;

function viewerRequestEvent(
  request: Partial<FunctionsRequest> & { uri: string },
  method = 'GET',
): { version: string; context: object; viewer: object; request: FunctionsRequest } {
  return {
    version: '1.0',
    context: VIEWER_REQUEST_CONTEXT,
    viewer: { ip: '198.51.100.11' },
    request: {
      method,
      querystring: {},
      cookies: {},
      ...request,
      headers: { host: { value: 'dify.example.com' }, accept: { value: '*/*' }, ...request.headers },
    },
  };
}

describe('viewer-request CloudFront Function: source constraints', () => {
  test('uses the same forwarded header literal as edge/constants.ts', () => {
    const literal = /var FORWARDED_AUTHORIZATION_HEADER = '([^']+)';/.exec(source);
    expect(literal?.[1]).toBe(FORWARDED_AUTHORIZATION_HEADER);
  });

  test('is a standalone script within the CloudFront Functions size quota', () => {
    expect(source).not.toMatch(/\brequire\s*\(|^\s*import\s|^\s*export\s|module\.exports/m);
    // CloudFront Functions quota: 10 KB of function code.
    expect(Buffer.byteLength(source, 'utf8')).toBeLessThan(10 * 1024);
  });
});

describe('viewer-request CloudFront Function: Authorization copy', () => {
  test('copies a Bearer token on a bodyless GET into the forwarded header and keeps the original', () => {
    const event = viewerRequestEvent({
      uri: '/v1/messages',
      querystring: { conversation_id: { value: '9f6c' }, user: { value: 'abc-123' } },
      headers: { authorization: { value: 'Bearer app-service-key' } },
    });

    const result = handler(event) as FunctionsRequest;

    expect(result.headers[FORWARDED_AUTHORIZATION_HEADER]).toEqual({ value: 'Bearer app-service-key' });
    expect(result.headers.authorization).toEqual({ value: 'Bearer app-service-key' });
    expect(result.uri).toBe('/v1/messages');
    expect(result.querystring).toEqual({ conversation_id: { value: '9f6c' }, user: { value: 'abc-123' } });
  });

  test('copies every value of a multi-value Authorization', () => {
    const authorization = {
      value: 'Bearer first',
      multiValue: [{ value: 'Bearer first' }, { value: 'Basic c2Vjb25k' }],
    };
    const event = viewerRequestEvent({ uri: '/console/api/apps', headers: { authorization } }, 'POST');

    const result = handler(event) as FunctionsRequest;

    expect(result.headers[FORWARDED_AUTHORIZATION_HEADER]).toEqual(authorization);
    expect(result.headers[FORWARDED_AUTHORIZATION_HEADER]).not.toBe(authorization);
  });

  test('overwrites a viewer-supplied forwarded header with the real Authorization', () => {
    const event = viewerRequestEvent({
      uri: '/v1/chat-messages',
      headers: { authorization: { value: 'Bearer real' }, [FORWARDED_AUTHORIZATION_HEADER]: { value: 'Bearer spoof' } },
    });

    const result = handler(event) as FunctionsRequest;

    expect(result.headers[FORWARDED_AUTHORIZATION_HEADER]).toEqual({ value: 'Bearer real' });
  });

  test('passes requests without Authorization through unchanged', () => {
    const event = viewerRequestEvent({
      uri: '/_next/static/chunks/main-1a2b3c.js',
      cookies: { locale: { value: 'ja-JP' } },
    });
    const expected = structuredClone(event.request);

    const result = handler(event) as FunctionsRequest;

    expect(result).toEqual(expected);
    expect(Object.keys(result.headers)).not.toContain(FORWARDED_AUTHORIZATION_HEADER);
  });

  test('tolerates a request without a headers object', () => {
    const event = viewerRequestEvent({ uri: '/apps' });
    delete (event.request as Partial<FunctionsRequest>).headers;

    const result = handler(event) as FunctionsRequest;

    expect(result.uri).toBe('/apps');
  });
});

describe('viewer-request CloudFront Function: debug endpoints', () => {
  test.each([
    '/threads',
    '/threads/',
    '/threads/1234',
    '/THREADS',
    '/Threads/',
    '/db-pool-stat',
    '/db-pool-stat/',
    '/DB-Pool-Stat/detail',
    '//threads',
    '/./db-pool-stat',
    '/%74hreads',
    '/db-pool-sta%74/',
    '/v1/../threads',
  ])('%s gets a 404 without reaching the origin', (uri) => {
    const event = viewerRequestEvent({ uri, headers: { authorization: { value: 'Bearer x' } } });

    const result = handler(event) as FunctionsResponse;

    expect(result.statusCode).toBe(404);
    expect(result.statusDescription).toBe('Not Found');
    expect(result).not.toHaveProperty('uri');
    expect(result.headers?.['cache-control']).toEqual({ value: 'no-store' });
    expect(result.body).toEqual({ encoding: 'text', data: '{"error":"not_found"}' });
  });

  test.each([
    '/',
    '/threadsafe',
    '/threads-overview',
    '/db-pool-stats',
    '/console/api/threads',
    '/v1/threads',
    '/apps/threads',
    '/%zz-malformed',
  ])('%s passes through', (uri) => {
    const event = viewerRequestEvent({ uri });

    const result = handler(event) as FunctionsRequest;

    expect(result.uri).toBe(uri);
    expect(result.method).toBe('GET');
  });
});

describe('viewer-request CloudFront Function: SnapStart hook paths (docs/adr/0017)', () => {
  test('the blocked prefix is the one the api function configures for the adapter', () => {
    expect(SNAPSTART_BEFORE_CHECKPOINT_PATH.startsWith(SNAPSTART_HOOK_PREFIX)).toBe(true);
    expect(SNAPSTART_AFTER_RESTORE_PATH.startsWith(SNAPSTART_HOOK_PREFIX)).toBe(true);
    expect(SNAPSTART_HOOK_PREFIX).toBe('/_snapstart/');
  });

  test.each([
    SNAPSTART_BEFORE_CHECKPOINT_PATH,
    SNAPSTART_AFTER_RESTORE_PATH,
    '/_SnapStart/after-restore',
    '//_snapstart/before-checkpoint',
    '/%5Fsnapstart/before-checkpoint',
    '/_snapstar%74/after-restore',
    '/v1/../_snapstart/before-checkpoint',
    '/console/api/../../_snapstart/after-restore',
    '/_snapstart/./after-restore/',
  ])('%s gets a 404 whatever the method', (uri) => {
    for (const method of ['POST', 'GET']) {
      const result = handler(viewerRequestEvent({ uri, method })) as FunctionsResponse;
      expect(result.statusCode).toBe(404);
      expect(result).not.toHaveProperty('uri');
    }
  });

  test.each(['/v1/_snapstart/after-restore', '/_snapstarted', '/console/api/_snapstart'])(
    '%s passes through',
    (uri) => {
      const result = handler(viewerRequestEvent({ uri, method: 'POST' })) as FunctionsRequest;
      expect(result.uri).toBe(uri);
    },
  );
});

describe('viewer-request CloudFront Function: probing endpoints (account enumeration, Bedrock test retrieval)', () => {
  test.each([
    '/console/api/account/change-email/check-email-unique',
    '/console/api/account/change-email/check-email-unique/',
    '/console/api//account/change-email/check-email-unique',
    '//console/api/account/change-email/check-email-unique',
    '/console/api/account/change-email/%63heck-email-unique',
    '/console/api/account/change-email%2Fcheck-email-unique',
    '/Console/API/Account/Change-Email/Check-Email-Unique',
    '/console/api/apps/../account/change-email/check-email-unique',
    '/console/api/test/retrieval',
    '/console/api/test/retrieval/',
    '/console/api/test//retrieval',
    '/console/api/test/%72etrieval',
    '/console/api/TEST/Retrieval',
    '/console/api/./test/retrieval',
  ])('POST %s gets a 404 without reaching the origin', (uri) => {
    const event = viewerRequestEvent({ uri, headers: { 'content-type': { value: 'application/json' } } }, 'POST');

    const result = handler(event) as FunctionsResponse;

    expect(result.statusCode).toBe(404);
    expect(result).not.toHaveProperty('uri');
    expect(result.body).toEqual({ encoding: 'text', data: '{"error":"not_found"}' });
  });

  test.each([
    '/console/api/account/change-email',
    '/console/api/account/change-email/reset',
    '/console/api/account/profile',
    '/console/api/test',
    '/console/api/datasets/external-knowledge-api',
    '/console/api/datasets/1234/retrieval',
    '/console/api/test-retrieval',
    '/v1/test/retrieval',
  ])('POST %s passes through', (uri) => {
    const event = viewerRequestEvent({ uri }, 'POST');

    const result = handler(event) as FunctionsRequest;

    expect(result.uri).toBe(uri);
    expect(result.method).toBe('POST');
  });
});

describe('viewer-request CloudFront Function: Accept-Encoding toward streaming origins', () => {
  test('removes accept-encoding and keeps every other header', () => {
    const event = viewerRequestEvent({
      uri: '/console/api/apps/1/chat-messages',
      headers: { 'accept-encoding': { value: 'gzip, deflate, br' }, 'x-custom': { value: 'kept' } },
    });

    const result = handler(event) as FunctionsRequest;

    expect(Object.keys(result.headers)).not.toContain('accept-encoding');
    expect(result.headers['x-custom']).toEqual({ value: 'kept' });
    expect(result.headers.host).toEqual({ value: 'dify.example.com' });
  });
});
