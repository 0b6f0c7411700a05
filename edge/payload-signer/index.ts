/**
 * Lambda@Edge origin-request "payload signer" for the Lambda function URL origins (associated with includeBody).
 *
 * Why it exists: CloudFront OAC signs requests to a function URL with SigV4, but it does not hash the body. Lambda
 * requires `x-amz-content-sha256` = hex SHA-256 of the exact body bytes on every request with a body and answers
 * 403 before the handler runs otherwise (CloudFront DG, "Restrict access to an AWS Lambda function URL origin").
 * CloudFront Functions cannot read the body, so this has to be Lambda@Edge.
 *
 * Constraints it is written for: no environment variables on Lambda@Edge (settings come from ../constants at bundle
 * time), bodies arrive base64-encoded and cut at 1 MB (`inputTruncated`), and OAC with signing "always" overwrites
 * `Authorization`, so the viewer's value is moved to FORWARDED_AUTHORIZATION_HEADER for the Lambda Web Adapter to
 * restore (AWS_LWA_AUTHORIZATION_SOURCE).
 */
import { createHash } from 'node:crypto';
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontResultResponse,
} from 'aws-lambda';
import { EDGE_BODY_LIMIT_BYTES, FORWARDED_AUTHORIZATION_HEADER, PAYLOAD_TOO_LARGE_MESSAGE } from '../constants';

export const CONTENT_SHA256_HEADER = 'x-amz-content-sha256';

/** SHA-256 of zero bytes: what SigV4 expects as payload hash for bodyless requests. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Display spelling of the forwarded header; CloudFront only uses the lowercase map key for lookups. */
const FORWARDED_AUTHORIZATION_HEADER_KEY = 'X-Dify-Authorization';

type HeaderEntry = CloudFrontHeaders[string][number];
type RequestBody = CloudFrontRequest['body'];

/** Bytes the origin will receive, decoded exactly as CloudFront hands them over (never via a UTF-8 string). */
export function decodeRequestBody(body: RequestBody): Buffer {
  if (body === null || typeof body !== 'object' || typeof body.data !== 'string' || body.data.length === 0) {
    return Buffer.alloc(0);
  }
  // CloudFront always exposes an unmodified body as base64; 'text' only appears after a function replaced it.
  return body.encoding === 'text' ? Buffer.from(body.data, 'utf8') : Buffer.from(body.data, 'base64');
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function jsonResponse(status: number, statusDescription: string, payload: object): CloudFrontResultResponse {
  return {
    status: String(status),
    statusDescription,
    headers: {
      'content-type': [{ key: 'Content-Type', value: 'application/json; charset=utf-8' }],
      // An origin-request generated response is cacheable by CloudFront; an error about one request's body must not
      // be served to the next request for the same URL.
      'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
    },
    bodyEncoding: 'text',
    body: JSON.stringify(payload),
  };
}

export function payloadTooLargeResponse(): CloudFrontResultResponse {
  return jsonResponse(413, 'Payload Too Large', {
    error: 'payload_too_large',
    message: PAYLOAD_TOO_LARGE_MESSAGE,
    limitBytes: EDGE_BODY_LIMIT_BYTES,
  });
}

function isHeaderEntry(entry: unknown): entry is HeaderEntry {
  return typeof entry === 'object' && entry !== null && typeof (entry as { value?: unknown }).value === 'string';
}

/**
 * Removes every map key that spells `lowercaseName` in any case and returns their values. CloudFront itself always
 * uses lowercase keys, but hand-built or replayed events do not, and a stale duplicate would reach the origin.
 */
function takeHeader(headers: CloudFrontHeaders, lowercaseName: string): HeaderEntry[] {
  const taken: HeaderEntry[] = [];
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() !== lowercaseName) continue;
    const entries: unknown = headers[name];
    if (Array.isArray(entries)) taken.push(...entries.filter(isHeaderEntry));
    delete headers[name];
  }
  return taken;
}

function moveViewerAuthorization(headers: CloudFrontHeaders): void {
  const authorization = takeHeader(headers, 'authorization');
  if (authorization.length === 0) return;
  // The viewer's own Authorization replaces a forwarded copy. Both come from the same viewer and the viewer-request
  // function copies the same value, so they only differ for events that did not pass through that function.
  takeHeader(headers, FORWARDED_AUTHORIZATION_HEADER);
  headers[FORWARDED_AUTHORIZATION_HEADER] = authorization.map((entry) => ({
    key: FORWARDED_AUTHORIZATION_HEADER_KEY,
    value: entry.value,
  }));
}

function extractRequest(event: unknown): CloudFrontRequest | undefined {
  const records: unknown = (event as { Records?: unknown } | null | undefined)?.Records;
  if (!Array.isArray(records)) return undefined;
  const request: unknown = (records[0] as { cf?: { request?: unknown } } | null | undefined)?.cf?.request;
  return typeof request === 'object' && request !== null ? (request as CloudFrontRequest) : undefined;
}

export function signPayload(request: CloudFrontRequest): CloudFrontRequest | CloudFrontResultResponse {
  if (request.body?.inputTruncated === true) return payloadTooLargeResponse();

  if (typeof request.headers !== 'object' || request.headers === null) request.headers = {};
  const headers = request.headers;

  moveViewerAuthorization(headers);

  // Any viewer-sent x-amz-content-sha256 is replaced: Lambda must check the hash of what actually arrives.
  takeHeader(headers, CONTENT_SHA256_HEADER);
  headers[CONTENT_SHA256_HEADER] = [{ key: CONTENT_SHA256_HEADER, value: sha256Hex(decodeRequestBody(request.body)) }];
  return request;
}

export const handler = async (event: CloudFrontRequestEvent): Promise<CloudFrontRequest | CloudFrontResultResponse> => {
  const request = extractRequest(event);
  if (request === undefined) {
    return jsonResponse(400, 'Bad Request', {
      error: 'bad_request',
      message: 'The payload signer received an event without Records[0].cf.request.',
    });
  }
  try {
    return signPayload(request);
  } catch (error) {
    // A thrown error becomes CloudFront's opaque 503 LambdaExecutionError page; a JSON body names the culprit.
    console.error('payload signer failed', error);
    return jsonResponse(502, 'Bad Gateway', {
      error: 'edge_signing_failed',
      message: 'The CloudFront edge could not sign this request for the origin.',
    });
  }
};
