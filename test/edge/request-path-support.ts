/**
 * Local stand-ins for the parts of the request path that only exist as AWS services, so that the real edge code
 * (edge/viewer-request/index.js and edge/payload-signer) can be exercised end to end over HTTP on 127.0.0.1:
 *
 * - an "edge" server playing CloudFront: viewer-request function, origin request policy ALL_VIEWER_EXCEPT_HOST_HEADER,
 *   Lambda@Edge origin-request with includeBody, then OAC SigV4 signing toward the function URL;
 * - a "function URL" server playing an AWS_IAM Lambda function URL (SigV4 check, payload hash check) followed by the
 *   Lambda Web Adapter with AWS_LWA_AUTHORIZATION_SOURCE, answering with an echo of what Dify would have received.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as vm from 'node:vm';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CloudFrontHeaders, CloudFrontRequest, CloudFrontResultResponse } from 'aws-lambda';
import { EDGE_BODY_LIMIT_BYTES, FORWARDED_AUTHORIZATION_HEADER } from '../../edge/constants';
import { handler as payloadSignerHandler } from '../../edge/payload-signer';
import { header, originRequestEvent, requestOf } from './origin-request-event';

type SignableRequest = Parameters<SignatureV4['sign']>[0];

/** The api function URL in the deployment region; CloudFront sends this as Host and OAC signs it. */
export const API_FUNCTION_URL_HOST = 'q4m7zk2xw9ht3rnb5vd8cj6ply0gsfea.lambda-url.ap-northeast-1.on.aws';
export const FUNCTION_URL_REGION = 'ap-northeast-1';
const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

// SigV4 rejects requests whose X-Amz-Date is more than 15 minutes away from the server clock.
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

// Connection-level headers are never forwarded by CloudFront to an origin (RFC 9110 section 7.6.1).
const HOP_BY_HOP_HEADERS = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding'];

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// Plain HTTP on 127.0.0.1

export interface OutgoingHttpRequest {
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The whole body of an incoming request or response. */
export function readBody(message: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.on('end', () => resolve(Buffer.concat(chunks)));
    message.on('error', reject);
  });
}

/** Sends exactly the given headers (no keep-alive agent, so no socket outlives the test). */
export function sendHttp(request: OutgoingHttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: '127.0.0.1',
        port: request.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent: false,
      },
      (response) => {
        readBody(response).then(
          (body) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
          reject,
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body !== undefined && request.body.length > 0 ? request.body : undefined);
  });
}

export function jsonOf<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body.toString('utf8')) as T;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 at a free port; a handler error answers 599 instead of hanging. */
export function listen(handle: (request: http.IncomingMessage, response: http.ServerResponse) => Promise<void>) {
  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A stand-in bug must surface as a failing assertion, not as a hanging request.
      if (!response.headersSent) response.writeHead(599, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ standInError: String(error) }));
    });
  });
  return new Promise<RunningServer>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function writeJson(response: http.ServerResponse, status: number, payload: object): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(payload));
}

// ---------------------------------------------------------------------------------------------------------------
// CloudFront Functions (cloudfront-js-2.0) event format

export interface FunctionsValue {
  value: string;
  multiValue?: Array<{ value: string }>;
}
export interface FunctionsRequest {
  method: string;
  uri: string;
  querystring: Record<string, FunctionsValue>;
  headers: Record<string, FunctionsValue>;
  cookies: Record<string, FunctionsValue>;
}
export interface FunctionsResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, FunctionsValue>;
  body?: { encoding: string; data: string } | string;
}
type ViewerRequestFunction = (event: unknown) => FunctionsRequest | FunctionsResponse;

const VIEWER_FUNCTION_PATH = join(__dirname, '..', '..', 'edge', 'viewer-request', 'index.js');

/** Evaluates the function as CloudFront Functions does: a plain script with a top-level handler, no Node globals. */
/** The `context` of a CloudFront Functions viewer-request event (documented example values). */
export const VIEWER_REQUEST_CONTEXT = {
  distributionDomainName: 'd111111abcdef8.cloudfront.net',
  distributionId: 'EDFDVBD6EXAMPLE',
  eventType: 'viewer-request',
  requestId: 'EXAMPLEntjQpEXAMPLE_SG5Z-EXAMPLEPmPfEXAMPLEu3EqEXAMPLE==',
};

export function loadViewerRequestFunction(): ViewerRequestFunction {
  const context = vm.createContext({});
  vm.runInContext(readFileSync(VIEWER_FUNCTION_PATH, 'utf8'), context, { filename: VIEWER_FUNCTION_PATH });
  const loaded: unknown = vm.runInContext('typeof handler === "function" ? handler : undefined', context);
  if (typeof loaded !== 'function') throw new Error(`${VIEWER_FUNCTION_PATH} defines no top-level handler`);
  return loaded as ViewerRequestFunction;
}

function toFunctionsValue(values: string[]): FunctionsValue {
  const value: FunctionsValue = { value: values[0] };
  if (values.length > 1) value.multiValue = values.map((entry) => ({ value: entry }));
  return value;
}

function valuesOf(value: FunctionsValue): string[] {
  return value.multiValue?.length ? value.multiValue.map((entry) => entry.value) : [value.value];
}

function groupPairs(pairs: Array<[string, string]>): Record<string, FunctionsValue> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of pairs) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  return Object.fromEntries([...grouped].map(([name, values]) => [name, toFunctionsValue(values)]));
}

function splitQuery(querystring: string): Array<[string, string]> {
  return querystring
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const separator = part.indexOf('=');
      return separator === -1 ? [part, ''] : [part.slice(0, separator), part.slice(separator + 1)];
    });
}

interface ViewerRequestEvent {
  version: '1.0';
  context: object;
  viewer: { ip: string };
  request: FunctionsRequest;
}

/** Header and cookie maps as CloudFront Functions builds them: lowercase names, cookies taken out of Cookie. */
function viewerRequestEventFrom(message: http.IncomingMessage): ViewerRequestEvent {
  const url = message.url ?? '/';
  const queryStart = url.indexOf('?');
  const headerPairs: Array<[string, string]> = [];
  const cookiePairs: Array<[string, string]> = [];
  for (let index = 0; index < message.rawHeaders.length; index += 2) {
    const name = message.rawHeaders[index].toLowerCase();
    const value = message.rawHeaders[index + 1];
    if (name !== 'cookie') {
      headerPairs.push([name, value]);
      continue;
    }
    for (const cookie of value.split(';')) {
      const trimmed = cookie.trim();
      const separator = trimmed.indexOf('=');
      if (separator > 0) cookiePairs.push([trimmed.slice(0, separator), trimmed.slice(separator + 1)]);
    }
  }
  return {
    version: '1.0',
    context: VIEWER_REQUEST_CONTEXT,
    viewer: { ip: '198.51.100.11' },
    request: {
      method: message.method ?? 'GET',
      uri: queryStart === -1 ? url : url.slice(0, queryStart),
      querystring: groupPairs(queryStart === -1 ? [] : splitQuery(url.slice(queryStart + 1))),
      headers: groupPairs(headerPairs),
      cookies: groupPairs(cookiePairs),
    },
  };
}

function isFunctionsResponse(result: FunctionsRequest | FunctionsResponse): result is FunctionsResponse {
  return typeof (result as FunctionsResponse).statusCode === 'number';
}

function writeFunctionsResponse(response: http.ServerResponse, result: FunctionsResponse): void {
  const headers: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = valuesOf(value);
  const body = result.body;
  response.writeHead(result.statusCode, headers);
  if (body === undefined) response.end();
  else if (typeof body === 'string') response.end(body);
  else response.end(Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8'));
}

// ---------------------------------------------------------------------------------------------------------------
// CloudFront between the viewer-request function and the origin

/**
 * Headers CloudFront sends to the origin under ALL_VIEWER_EXCEPT_HOST_HEADER: every viewer header (including ones
 * the viewer-request function added) except Host, which becomes the origin's domain. Authorization is dropped: an
 * origin request policy cannot forward it, only a cache policy can (CloudFront DG, "Origin request policies").
 */
function originHeadersFrom(request: FunctionsRequest, displayNames: Map<string, string>): CloudFrontHeaders {
  const headers: CloudFrontHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === 'host' || name === 'authorization' || HOP_BY_HOP_HEADERS.includes(name)) continue;
    const key = displayNames.get(name) ?? name;
    headers[name] = valuesOf(value).map((entry) => ({ key, value: entry }));
  }
  const cookies = Object.entries(request.cookies).flatMap(([name, value]) =>
    valuesOf(value).map((entry) => `${name}=${entry}`),
  );
  if (cookies.length > 0) headers.cookie = [{ key: 'Cookie', value: cookies.join('; ') }];
  return { ...headers, ...header('Host', API_FUNCTION_URL_HOST) };
}

function querystringOf(request: FunctionsRequest): string {
  return Object.entries(request.querystring)
    .flatMap(([name, value]) => valuesOf(value).map((entry) => `${name}=${entry}`))
    .join('&');
}

function writeLambdaEdgeResponse(response: http.ServerResponse, result: CloudFrontResultResponse): void {
  const headers: Record<string, string[]> = {};
  for (const [name, entries] of Object.entries(result.headers ?? {})) {
    headers[name] = entries.map((entry) => entry.value);
  }
  response.writeHead(Number(result.status), headers);
  response.end(Buffer.from(result.body ?? '', result.bodyEncoding === 'base64' ? 'base64' : 'utf8'));
}

/** Query map for SignatureV4 that keeps repeated names, built from the raw query string both sides see. */
function signableQuery(querystring: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(querystring)) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

// OAC does not hash the body (that is why the payload signer exists): with applyChecksum off, SignatureV4 signs the
// x-amz-content-sha256 header when present and otherwise neither hashes the body nor adds the header.
const oacSigner = new SignatureV4({
  service: 'lambda',
  region: FUNCTION_URL_REGION,
  credentials: TEST_CREDENTIALS,
  sha256: Sha256,
  applyChecksum: false,
});

/** Signs the request CloudFront sends to the origin like OAC with signing behaviour "always" does. */
export async function signLikeOac(request: CloudFrontRequest): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const [name, entries] of Object.entries(request.headers)) {
    // "always": OAC replaces any Authorization with its own signature.
    if (name.toLowerCase() === 'authorization') continue;
    headers[name.toLowerCase()] = entries.map((entry) => entry.value).join(', ');
  }
  const signed = await oacSigner.sign({
    method: request.method,
    protocol: 'https:',
    hostname: API_FUNCTION_URL_HOST,
    path: request.uri,
    query: signableQuery(request.querystring),
    headers,
  });
  return signed.headers;
}

export interface EdgeOptions {
  /** Whether edge/viewer-request/index.js is associated with the behaviour. */
  viewerFunction: boolean;
  /** Whether the Lambda@Edge payload signer is associated (origin-request, includeBody). */
  payloadSigner: boolean;
}

export interface EdgeStandIn extends RunningServer {
  /** Every signed request this edge sent to the function URL, exactly as sent, for replays. */
  originRequests: OutgoingHttpRequest[];
}

export async function startEdgeStandIn(originPort: number, options: EdgeOptions): Promise<EdgeStandIn> {
  const viewerRequestFunction = loadViewerRequestFunction();
  const originRequests: OutgoingHttpRequest[] = [];

  const server = await listen(async (message, response) => {
    const viewerBody = await readBody(message);
    const displayNames = new Map<string, string>();
    for (let index = 0; index < message.rawHeaders.length; index += 2) {
      displayNames.set(message.rawHeaders[index].toLowerCase(), message.rawHeaders[index]);
    }

    const viewerEvent = viewerRequestEventFrom(message);
    let viewerRequest = viewerEvent.request;
    if (options.viewerFunction) {
      const result = viewerRequestFunction(viewerEvent);
      if (isFunctionsResponse(result)) return writeFunctionsResponse(response, result);
      viewerRequest = result;
    }

    // With includeBody, Lambda@Edge gets the body base64-encoded and cut at 1 MB, flagged inputTruncated; a bodyless
    // request arrives with empty data.
    const event = originRequestEvent({
      method: viewerRequest.method,
      uri: viewerRequest.uri,
      querystring: querystringOf(viewerRequest),
      headers: originHeadersFrom(viewerRequest, displayNames),
      body: viewerBody.subarray(0, EDGE_BODY_LIMIT_BYTES),
      inputTruncated: viewerBody.length > EDGE_BODY_LIMIT_BYTES,
    });
    const customOrigin = requestOf(event).origin?.custom;
    if (customOrigin !== undefined) customOrigin.domainName = API_FUNCTION_URL_HOST;

    let originRequest = requestOf(event);
    if (options.payloadSigner) {
      const result = await payloadSignerHandler(event);
      if ('status' in result) return writeLambdaEdgeResponse(response, result);
      originRequest = result;
    }

    const signedHeaders = await signLikeOac(originRequest);
    const outgoing: OutgoingHttpRequest = {
      port: originPort,
      method: originRequest.method,
      path: originRequest.querystring === '' ? originRequest.uri : `${originRequest.uri}?${originRequest.querystring}`,
      headers: signedHeaders,
      // The origin-request action is read-only: CloudFront sends the viewer's full original body.
      body: viewerBody,
    };
    originRequests.push(outgoing);
    const answer = await sendHttp(outgoing);
    response.writeHead(answer.status, { 'content-type': answer.headers['content-type'] ?? 'application/octet-stream' });
    response.end(answer.body);
  });
  return { ...server, originRequests };
}

// ---------------------------------------------------------------------------------------------------------------
// Lambda function URL (AuthType AWS_IAM) + Lambda Web Adapter + an echoing app

/** What the app behind the Lambda Web Adapter (Dify) saw. */
export interface AppEcho {
  method: string;
  path: string;
  querystring: string;
  authorization: string | null;
  forwardedAuthorizationHeaderVisible: boolean;
  acceptEncodingArrived: boolean;
  bodyBytes: number;
  bodySha256: string;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

export interface FunctionUrlStandIn extends RunningServer {
  /** Every request that reached the function URL, rejected or not. */
  received: ReceivedRequest[];
}

const verifier = new SignatureV4({
  service: 'lambda',
  region: FUNCTION_URL_REGION,
  credentials: TEST_CREDENTIALS,
  sha256: Sha256,
  applyChecksum: false,
});

const AUTHORIZATION_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/;

function singleHeader(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function parseAmzDate(value: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  return new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
}

/** Why Lambda would answer 403 before invoking the function, or undefined when the request is authentic. */
async function iamAuthRejection(message: http.IncomingMessage, body: Buffer): Promise<string | undefined> {
  const authorization = singleHeader(message.headers, 'authorization') ?? '';
  const parsed = AUTHORIZATION_PATTERN.exec(authorization);
  if (parsed === null) return 'Missing or malformed SigV4 Authorization header.';
  const [, accessKeyId, scopeDate, region, service, signedHeaderList] = parsed;
  if (accessKeyId !== TEST_CREDENTIALS.accessKeyId) return 'The security token included in the request is invalid.';
  if (region !== FUNCTION_URL_REGION || service !== 'lambda') return 'Credential scope does not match this URL.';

  const amzDate = singleHeader(message.headers, 'x-amz-date');
  const signingDate = parseAmzDate(amzDate);
  if (signingDate === undefined || !amzDate?.startsWith(scopeDate)) return 'Missing or malformed X-Amz-Date.';
  if (Math.abs(Date.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) return 'Signature expired.';

  // Lambda does not accept unsigned payloads: a body must come with its hash, and the hash must be of these bytes.
  const contentSha256 = singleHeader(message.headers, 'x-amz-content-sha256');
  if (body.length > 0 && contentSha256 === undefined) return 'Requests with a body must carry x-amz-content-sha256.';
  if (contentSha256 !== undefined && contentSha256 !== sha256Hex(body)) {
    return 'The x-amz-content-sha256 header does not match the SHA-256 of the received body.';
  }

  const signedHeaders: Record<string, string> = {};
  for (const name of signedHeaderList.split(';')) {
    const value = singleHeader(message.headers, name);
    if (value === undefined) return `Signed header ${name} is missing from the request.`;
    signedHeaders[name] = value;
  }
  const url = message.url ?? '/';
  const queryStart = url.indexOf('?');
  const copy: SignableRequest = {
    method: message.method ?? 'GET',
    protocol: 'https:',
    hostname: signedHeaders.host ?? '',
    path: queryStart === -1 ? url : url.slice(0, queryStart),
    query: signableQuery(queryStart === -1 ? '' : url.slice(queryStart + 1)),
    headers: signedHeaders,
    body: body.length > 0 ? body : undefined,
  };
  const recomputed = await verifier.sign(copy, { signingDate });
  if (recomputed.headers.authorization !== authorization) {
    return 'The request signature we calculated does not match the signature you provided.';
  }
  return undefined;
}

/** AWS_LWA_AUTHORIZATION_SOURCE: the adapter renames the source header to Authorization before proxying. */
function headersAfterWebAdapter(headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
  const adapted = { ...headers };
  const source = adapted[FORWARDED_AUTHORIZATION_HEADER];
  if (source !== undefined) {
    adapted.authorization = Array.isArray(source) ? source.join(', ') : source;
    delete adapted[FORWARDED_AUTHORIZATION_HEADER];
  }
  return adapted;
}

export async function startFunctionUrlStandIn(): Promise<FunctionUrlStandIn> {
  const received: ReceivedRequest[] = [];
  const server = await listen(async (message, response) => {
    const body = await readBody(message);
    const url = message.url ?? '/';
    received.push({ method: message.method ?? '', path: url, headers: message.headers, bodyBytes: body.length });

    const rejection = await iamAuthRejection(message, body);
    if (rejection !== undefined) return writeJson(response, 403, { message: rejection });

    const appHeaders = headersAfterWebAdapter(message.headers);
    const queryStart = url.indexOf('?');
    const echo: AppEcho = {
      method: message.method ?? '',
      path: queryStart === -1 ? url : url.slice(0, queryStart),
      querystring: queryStart === -1 ? '' : url.slice(queryStart + 1),
      authorization: singleHeader(appHeaders, 'authorization') ?? null,
      forwardedAuthorizationHeaderVisible: appHeaders[FORWARDED_AUTHORIZATION_HEADER] !== undefined,
      acceptEncodingArrived: appHeaders['accept-encoding'] !== undefined,
      bodyBytes: body.length,
      bodySha256: sha256Hex(body),
    };
    writeJson(response, 200, echo);
  });
  return { ...server, received };
}
