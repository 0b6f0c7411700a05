/**
 * Signs the payload signer's output the way CloudFront OAC signs requests to a Lambda function URL (SigV4, service
 * lambda) and checks that the payload hash in the canonical request is the SHA-256 of the viewer's original bytes.
 * SignatureV4 takes an existing x-amz-content-sha256 header as the payload hash, exactly like OAC, so a signature
 * made from the header must equal one made by hashing the real body.
 */
import { randomBytes } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CloudFrontHeaders, CloudFrontRequest } from 'aws-lambda';
import { FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { handler } from '../../edge/payload-signer';
import { FUNCTION_URL_HOST, header, originRequestEvent } from './origin-request-event';

type SignableRequest = Parameters<SignatureV4['sign']>[0];

const SIGNING_DATE = new Date('2026-03-14T09:26:53Z');

const oacSigner = new SignatureV4({
  service: 'lambda',
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  sha256: Sha256,
});

function flattenHeaders(headers: CloudFrontHeaders, omit: string[] = []): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, entries] of Object.entries(headers)) {
    if (omit.includes(name.toLowerCase())) continue;
    flat[name.toLowerCase()] = entries.map((entry) => entry.value).join(', ');
  }
  return flat;
}

function httpRequestFor(request: CloudFrontRequest, headers: Record<string, string>, body?: Buffer): SignableRequest {
  return {
    method: request.method,
    protocol: 'https:',
    hostname: FUNCTION_URL_HOST,
    path: request.uri,
    query: Object.fromEntries(new URLSearchParams(request.querystring)),
    headers,
    body,
  };
}

async function authorizationOf(signable: SignableRequest): Promise<string> {
  const signed = await oacSigner.sign(signable, { signingDate: SIGNING_DATE });
  return signed.headers.authorization;
}

async function signedByPayloadSigner(body: Buffer, contentType: string): Promise<CloudFrontRequest> {
  const event = originRequestEvent({
    method: 'POST',
    uri: '/console/api/files/upload',
    querystring: 'source=datasets',
    headers: { ...header('Authorization', 'Bearer console-access-token'), ...header('Content-Type', contentType) },
    body,
  });
  const result = await handler(event);
  expect(result).toHaveProperty('uri');
  return result as CloudFrontRequest;
}

describe('OAC SigV4 over the payload signer output', () => {
  const fileBytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(2048)]);
  const originalBody = Buffer.concat([
    Buffer.from('--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'),
    fileBytes,
    Buffer.from('\r\n--b0undary--\r\n'),
  ]);

  test('the header-derived signature equals the signature over the original body bytes', async () => {
    const request = await signedByPayloadSigner(originalBody, 'multipart/form-data; boundary=b0undary');

    // As OAC does: the body itself is not hashed because x-amz-content-sha256 is present.
    const fromHeader = await oacSigner.sign(httpRequestFor(request, flattenHeaders(request.headers)), {
      signingDate: SIGNING_DATE,
    });
    // Reference: SignatureV4 hashes the real bytes itself (and adds the same header to the signed set).
    const fromBytes = await oacSigner.sign(
      httpRequestFor(request, flattenHeaders(request.headers, ['x-amz-content-sha256']), originalBody),
      { signingDate: SIGNING_DATE },
    );

    expect(fromHeader.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/20260314\/us-east-1\/lambda\//,
    );
    expect(fromHeader.headers.authorization).toContain('x-amz-content-sha256');
    expect(fromHeader.headers.authorization).toBe(fromBytes.headers.authorization);
    expect(fromBytes.headers['x-amz-content-sha256']).toBe(request.headers['x-amz-content-sha256'][0].value);
    // Signing writes Authorization; the viewer's token rides separately for the Web Adapter to restore.
    expect(fromHeader.headers[FORWARDED_AUTHORIZATION_HEADER]).toBe('Bearer console-access-token');
    expect(fromHeader.headers.authorization).not.toContain('console-access-token');
  });

  test('a tampered or UTF-8-mangled body yields a different signature', async () => {
    const request = await signedByPayloadSigner(originalBody, 'multipart/form-data; boundary=b0undary');
    const withoutHash = flattenHeaders(request.headers, ['x-amz-content-sha256']);
    const fromHeader = await authorizationOf(httpRequestFor(request, flattenHeaders(request.headers)));

    const tampered = Buffer.from(originalBody);
    tampered[tampered.length - 20] ^= 0x01;
    const mangled = Buffer.from(originalBody.toString('utf8'), 'utf8');

    expect(await authorizationOf(httpRequestFor(request, withoutHash, tampered))).not.toBe(fromHeader);
    expect(await authorizationOf(httpRequestFor(request, withoutHash, mangled))).not.toBe(fromHeader);
    expect(await authorizationOf(httpRequestFor(request, withoutHash, originalBody))).toBe(fromHeader);
  });

  test('a bodyless GET signs as an empty payload', async () => {
    const event = originRequestEvent({
      method: 'GET',
      uri: '/v1/messages',
      querystring: 'conversation_id=9f6c&limit=20',
      headers: header('Authorization', 'Bearer app-service-key'),
    });
    const request = (await handler(event)) as CloudFrontRequest;

    const fromHeader = await authorizationOf(httpRequestFor(request, flattenHeaders(request.headers)));
    const fromEmptyBody = await authorizationOf(
      httpRequestFor(request, flattenHeaders(request.headers, ['x-amz-content-sha256']), Buffer.alloc(0)),
    );

    expect(fromHeader).toBe(fromEmptyBody);
  });
});
