/**
 * Stand-ins around the upload relay's real handler (functions/upload-relay/index.ts), over HTTP on 127.0.0.1:
 *
 * - a relay function URL (AuthType NONE): turns an HTTP request into a payload-2.0 event with a base64 body, refuses
 *   events over Lambda's 6 MB invocation payload as Lambda does, and writes the handler's result back;
 * - a "network" fetch for the relay: the api function URL host resolves to the verifying function URL stand-in of
 *   test/edge/request-path-support.ts (Host header kept, so SigV4 is checked against the real host name), and
 *   backend.dify.internal:5002 to a plugin-daemon stand-in, or to nothing when the daemon is stopped;
 * - a plugin-daemon stand-in that records what it receives.
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { FUNCTION_URL_PAYLOAD_LIMIT_BYTES } from '../../functions/upload-relay/routes';
import type { FetchFunction } from '../../functions/upload-relay/app';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHandler } from '../../functions/upload-relay';
import { secretArn } from '../containers/fake-secrets-manager';
import { fakeCredentials } from './local-server';
import {
  API_FUNCTION_URL_HOST,
  RunningServer,
  listen,
  readBody,
  sendHttp,
  sha256Hex,
} from '../edge/request-path-support';

export const RELAY_FUNCTION_URL_HOST = 'r3lay7zk2xw9ht3rnb5vd8cj6ply0gse.lambda-url.ap-northeast-1.on.aws';
export const PLUGIN_DAEMON_HOST = 'backend.dify.internal:5002';
export const ECS_API_HOST = 'ecs.ap-northeast-1.amazonaws.com';

export type { RunningServer };

type Handler = (event: LambdaFunctionURLEvent) => Promise<{
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}>;

/** Payload format 2.0 as a function URL builds it (AWS Lambda DG "Invoking Lambda function URLs"). */
function eventFrom(message: http.IncomingMessage, body: Buffer): LambdaFunctionURLEvent {
  const url = message.url ?? '/';
  const queryStart = url.indexOf('?');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/);
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  headers.host = RELAY_FUNCTION_URL_HOST;
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: queryStart === -1 ? '' : url.slice(queryStart + 1),
    headers,
    ...(cookies ? { cookies } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'r3lay',
      domainName: RELAY_FUNCTION_URL_HOST,
      domainPrefix: 'r3lay',
      http: {
        method: message.method ?? 'GET',
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '130.176.0.1',
        userAgent: 'Amazon CloudFront',
      },
      requestId: 'relay-request',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    ...(body.length > 0 ? { body: body.toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
  };
}

export interface RelayStandIn extends RunningServer {
  /** How many events reached the handler. */
  invocations: number;
}

export async function startRelayFunctionUrl(handler: Handler): Promise<RelayStandIn> {
  const state = { invocations: 0 };
  const server = await listen(async (message, response) => {
    const event = eventFrom(message, await readBody(message));
    if (Buffer.byteLength(JSON.stringify(event)) > FUNCTION_URL_PAYLOAD_LIMIT_BYTES) {
      // What Lambda answers before the function runs (RequestEntityTooLargeException).
      response.writeHead(413, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ Message: 'Request must be smaller than 6291456 bytes for the InvokeFunction operation' }),
      );
      return;
    }
    state.invocations += 1;
    const result = await handler(event);
    const headers: Record<string, string | string[]> = { ...result.headers };
    if (result.cookies) headers['set-cookie'] = result.cookies;
    response.writeHead(result.statusCode, headers);
    response.end(Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
  });
  return {
    ...server,
    get invocations() {
      return state.invocations;
    },
  } as RelayStandIn;
}

/** What the plugin daemon stand-in received. */
export interface DaemonReceived {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  bodySha256: string;
  bodyBytes: number;
}

export interface DaemonStandIn extends RunningServer {
  received: DaemonReceived[];
}

export async function startDaemonStandIn(): Promise<DaemonStandIn> {
  const received: DaemonReceived[] = [];
  const server = await listen(async (message, response) => {
    const body = await readBody(message);
    received.push({
      method: message.method ?? '',
      path: message.url ?? '',
      headers: message.headers,
      bodySha256: sha256Hex(body),
      bodyBytes: body.length,
    });
    response.writeHead(200, { 'content-type': 'application/json', 'x-plugin': 'echo' });
    response.end(JSON.stringify({ hook: 'answered' }));
  });
  return { ...server, received };
}

export interface Network {
  /** Port the api function URL host resolves to. */
  apiPort: number;
  /** Port the plugin daemon resolves to; undefined when the backend task is not running. */
  daemonPort?: number;
  /** Port the regional ECS API endpoint resolves to (an ECS stand-in), if any. */
  ecsPort?: number;
}

/** A fetch whose "DNS" is `network`; it sends exactly the given headers with the URL's host as Host. */
export function fetchOver(network: Network): FetchFunction {
  return async (input, init) => {
    const url = new URL(input);
    let port: number | undefined;
    if (url.host === API_FUNCTION_URL_HOST && url.protocol === 'https:') port = network.apiPort;
    if (url.host === PLUGIN_DAEMON_HOST && url.protocol === 'http:') port = network.daemonPort;
    if (url.host === ECS_API_HOST && url.protocol === 'https:') port = network.ecsPort;
    if (port === undefined) throw new TypeError(`fetch failed: getaddrinfo ENOTFOUND ${url.hostname}`);
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>), host: url.host };
    const body = init.body instanceof Uint8Array ? Buffer.from(init.body) : undefined;
    if (body) headers['content-length'] = String(body.length);
    const answer = await sendHttp({
      port,
      method: init.method ?? 'GET',
      path: url.pathname + url.search,
      headers,
      body,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const entry of Array.isArray(value) ? value : [value]) responseHeaders.append(name, entry);
    }
    return new Response(answer.body.length > 0 ? answer.body : null, {
      status: answer.status,
      headers: responseHeaders,
    });
  };
}

export interface RelayHandlerOptions {
  /** Endpoint of the Secrets Manager stand-in holding the secrets named 'relay' and 'site'. */
  readonly secretsEndpoint: string;
  readonly network: Network;
  readonly now: () => number;
  readonly log: (entry: Record<string, unknown>) => void;
  /** More environment variables (e.g. BACKEND_SERVICE). */
  readonly env?: Record<string, string>;
}

/** The relay's real handler, with the environment the construct gives it and every AWS call on a stand-in. */
export function relayHandler(options: RelayHandlerOptions): ReturnType<typeof createHandler> {
  return createHandler(
    {
      API_FUNCTION_URL: `https://${API_FUNCTION_URL_HOST}/`,
      PLUGIN_DAEMON_URL: `http://${PLUGIN_DAEMON_HOST}`,
      ORIGIN_SECRET_ARN: secretArn('relay'),
      SITE_URL_SECRET_ARN: secretArn('site'),
      AWS_REGION: 'ap-northeast-1',
      AWS_ACCESS_KEY_ID: fakeCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: fakeCredentials.secretAccessKey,
      ...options.env,
    },
    {
      secretsManager: new SecretsManagerClient({
        endpoint: options.secretsEndpoint,
        region: 'ap-northeast-1',
        credentials: fakeCredentials,
      }),
      fetch: fetchOver(options.network),
      now: options.now,
      log: options.log,
    },
  );
}

/** A multipart body with a Shift_JIS file name and bytes that are not UTF-8, exactly `size` bytes long. */
export function nonUtf8Multipart(boundary: string, size: number): Buffer {
  const shiftJisName = Buffer.from([0x8c, 0xa9, 0x90, 0xcf, 0x2e, 0x70, 0x64, 0x66]); // 見積.pdf in Shift_JIS
  const head = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="`),
    shiftJisName,
    Buffer.from('"\r\nContent-Type: application/pdf\r\n\r\n'),
  ]);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const file = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]), randomBytes(size)]);
  return Buffer.concat([head, file.subarray(0, size - head.length - tail.length), tail]);
}
