/**
 * Wakes a sleeping backend (docs/adr/0018): plugin endpoints (`/e/*`) reach the plugin daemon through the relay, not
 * through the api, so the api's wake-on-use never sees them. When the daemon does not answer, the relay asks ECS for
 * one backend task with `UpdateService` (desiredCount 1; a no-op while one already runs or starts) and the caller
 * gets a 503 with Retry-After meanwhile.
 *
 * Signed by hand (SigV4, awsJson1_1 protocol: `POST /` with `X-Amz-Target`, ECS API Reference "UpdateService") so
 * the LLRT bundle needs no ECS client: LLRT's standard build ships only some SDK clients (lib/llrt-function.ts).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { StaticCredentials } from '../shared/lambda-credentials';
import type { FetchFunction } from './app';

/** At most one UpdateService per environment in this window: a burst of webhook calls sends one. */
export const WAKE_INTERVAL_MS = 30_000;
/** The relay answers the caller after at most this long, whether or not ECS has answered. */
export const WAKE_TIMEOUT_MS = 3_000;

export interface BackendWakeOptions {
  /** `<cluster name>/<service name>` of the backend ECS service. */
  readonly service: string;
  readonly region: string;
  readonly credentials: () => StaticCredentials;
  readonly fetch: FetchFunction;
  /** @default `https://ecs.<region>.amazonaws.com` */
  readonly endpoint?: string;
  /** @default Date.now */
  readonly now?: () => number;
  readonly log: (entry: Record<string, unknown>) => void;
}

/** Parses `<cluster>/<service>`; throws naming the variable's expected shape. */
export function parseBackendService(value: string): { cluster: string; service: string } {
  const match = /^([A-Za-z0-9_-]{1,255})\/([A-Za-z0-9_-]{1,255})$/.exec(value);
  if (match === null) throw new Error(`backend service must be "<cluster name>/<service name>", got "${value}"`);
  return { cluster: match[1], service: match[2] };
}

/** Returns `wake()`: resolves once ECS answered, the timeout passed, or the call was throttled; never rejects. */
export function createBackendWaker(options: BackendWakeOptions): () => Promise<void> {
  const { cluster, service } = parseBackendService(options.service);
  const endpoint = new URL(options.endpoint ?? `https://ecs.${options.region}.amazonaws.com`);
  const now = options.now ?? Date.now;
  let lastAttempt = Number.NEGATIVE_INFINITY;

  const send = async (): Promise<void> => {
    const body = JSON.stringify({ cluster, service, desiredCount: 1 });
    const signer = new SignatureV4({
      service: 'ecs',
      region: options.region,
      credentials: options.credentials(),
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      path: '/',
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerServiceV20141113.UpdateService',
      },
      body,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== 'host') headers[name.toLowerCase()] = value;
    }
    const response = await options.fetch(`${endpoint.origin}/`, {
      method: 'POST',
      headers,
      body: new TextEncoder().encode(body),
    });
    const text = await response.text();
    if (response.status !== 200) {
      let type = 'UnknownError';
      try {
        type = String((JSON.parse(text) as { __type?: string }).__type ?? type);
      } catch {
        // A non-JSON error page (a proxy, a throttling front end): the status alone is logged.
      }
      options.log({ event: 'relay_wake_failed', status: response.status, error: type });
      return;
    }
    options.log({ event: 'relay_wake_requested', cluster, service });
  };

  return async () => {
    const at = now();
    if (at - lastAttempt < WAKE_INTERVAL_MS) return;
    lastAttempt = at;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        options.log({ event: 'relay_wake_timeout', ms: WAKE_TIMEOUT_MS });
        resolve();
      }, WAKE_TIMEOUT_MS);
    });
    try {
      await Promise.race([
        send().catch((error: unknown) => {
          options.log({ event: 'relay_wake_failed', error: error instanceof Error ? error.name : 'UnknownError' });
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}
