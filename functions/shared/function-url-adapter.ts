/**
 * Runs a fetch-style handler (`(Request) => Response`, e.g. a hono app's `app.fetch`) behind a Lambda function URL.
 *
 * hono ships `hono/aws-lambda`, but that adapter targets the managed Node.js runtime (it imports `node:crypto`,
 * https://github.com/honojs/hono/issues/3914). On LLRT only web-standard globals are safe, so this adapter uses
 * nothing else: `Request`, `Response`, `Headers`, `atob`/`btoa`, `TextDecoder`. It also reads response bodies with
 * `arrayBuffer()`, never as a stream, because LLRT's `response.body` is always null (LLRT API.md, "FETCH").
 *
 * Function URLs send the API Gateway payload format 2.0 (AWS Lambda DG "Invoking Lambda function URLs", request
 * and response payloads): `rawPath`, `rawQueryString`, lower-cased `headers` with repeated values joined by commas,
 * `cookies` split out of the Cookie header, and `body` that is base64 when `isBase64Encoded` is true.
 */
import type { LambdaFunctionURLEvent } from 'aws-lambda';

export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** The structured result a function URL turns into an HTTP response (payload format 2.0). */
export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}

const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD']);

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function encodeBase64(bytes: Uint8Array): string {
  // btoa takes a "binary string"; build it in chunks so large bodies do not overflow the argument list.
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** The request the function URL received, as a web-standard Request. */
export function requestFromFunctionUrlEvent(event: LambdaFunctionURLEvent): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(name, value);
  }
  // Payload 2.0 moves cookies out of the headers; a handler expects them back in one Cookie header (RFC 6265 5.4).
  if (event.cookies && event.cookies.length > 0) headers.set('cookie', event.cookies.join('; '));
  const host = headers.get('host') ?? event.requestContext.domainName;
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const url = `https://${host}${event.rawPath}${query}`;
  const method = event.requestContext.http.method.toUpperCase();
  let body: string | Uint8Array | undefined;
  if (!METHODS_WITHOUT_BODY.has(method) && event.body !== undefined) {
    body = event.isBase64Encoded ? decodeBase64(event.body) : event.body;
  }
  return new Request(url, { method, headers, body });
}

/** Content types whose bytes are text: sent as a plain string instead of base64. */
function isTextual(contentType: string | null): boolean {
  if (!contentType) return false;
  const type = contentType.toLowerCase();
  return (
    type.startsWith('text/') ||
    type.includes('json') ||
    type.includes('xml') ||
    type.includes('javascript') ||
    type.startsWith('application/x-www-form-urlencoded')
  );
}

function setCookiesOf(headers: Headers): string[] {
  // getSetCookie keeps several Set-Cookie headers apart (a joined value is ambiguous: dates contain commas).
  const withGetter = headers as Headers & { getSetCookie?: () => string[] };
  if (typeof withGetter.getSetCookie === 'function') return withGetter.getSetCookie();
  const single = headers.get('set-cookie');
  return single ? [single] : [];
}

/** Maps a Response back to the function URL result: text bodies as strings, anything else base64. */
export async function functionUrlResultFromResponse(response: Response): Promise<FunctionUrlResult> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.toLowerCase() !== 'set-cookie') headers[name] = value;
  });
  const cookies = setCookiesOf(response.headers);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const textual = bytes.length === 0 || isTextual(response.headers.get('content-type'));
  return {
    statusCode: response.status,
    headers,
    ...(cookies.length > 0 ? { cookies } : {}),
    body: textual ? new TextDecoder().decode(bytes) : encodeBase64(bytes),
    isBase64Encoded: !textual,
  };
}

/** A Lambda handler for a function URL that hands every request to `fetch`. */
export function functionUrlHandler(fetch: FetchHandler): (event: LambdaFunctionURLEvent) => Promise<FunctionUrlResult> {
  return async (event) => functionUrlResultFromResponse(await fetch(requestFromFunctionUrlEvent(event)));
}
