import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';

export interface TimedRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The whole request, first byte included, must finish within this many ms. */
  timeoutMs: number;
  /** Reused across requests so warm numbers are not dominated by TCP/TLS handshakes. */
  agent?: http.Agent;
  /** Called with every body chunk and the ms elapsed since the request started. */
  onData?: (chunk: Buffer, elapsedMs: number) => void;
  /** Keep the body text (capped) in the result, for error messages. */
  keepBody?: boolean;
}

export interface TimedResponse {
  status: number;
  contentType: string;
  /** Until the status line and headers arrived: what a viewer waits before anything happens. */
  ttfbMs: number;
  /** Until the last body byte. */
  totalMs: number;
  bytes: number;
  body: string;
}

const KEPT_BODY_LIMIT = 64 * 1024;

/** One HTTP request timed with a monotonic clock; rejects with Node's network error (its `code` kept). */
export function timedRequest(url: URL, options: TimedRequestOptions): Promise<TimedResponse> {
  const transport = url.protocol === 'https:' ? https : http;
  const started = performance.now();
  return new Promise<TimedResponse>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, response?: TimedResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else if (response) resolve(response);
    };
    const headers: Record<string, string> = { 'user-agent': 'dify-edge-bench/1', ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const request = transport.request(
      url,
      { method: options.method ?? 'GET', headers, agent: options.agent },
      (res) => {
        const ttfbMs = performance.now() - started;
        let bytes = 0;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (options.keepBody && keptBytes < KEPT_BODY_LIMIT) {
            kept.push(chunk);
            keptBytes += chunk.length;
          }
          options.onData?.(chunk, performance.now() - started);
        });
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            ttfbMs,
            totalMs: performance.now() - started,
            bytes,
            body: Buffer.concat(kept).toString('utf8'),
          }),
        );
        res.on('error', (error) => finish(error));
        res.on('aborted', () => finish(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      },
    );
    const timer = setTimeout(() => {
      request.destroy(
        Object.assign(new Error(`no complete answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      );
    }, options.timeoutMs);
    request.on('error', (error) => finish(error));
    if (options.body !== undefined) request.write(options.body);
    request.end();
  });
}

/** 2xx and 3xx count as served; anything else is an error of that status. */
export function isServed(status: number): boolean {
  return status >= 200 && status < 400;
}
