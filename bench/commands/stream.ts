import * as http from 'node:http';
import * as https from 'node:https';
import {
  BenchIo,
  COMMON_OPTIONS,
  Deadline,
  intOption,
  parseCommandArgs,
  requireString,
  secondsOption,
  stringOption,
  urlOption,
} from '../lib/context';
import { BenchError, BenchUsageError, describeNetworkError, errorCode } from '../lib/errors';
import { timedRequest } from '../lib/http';
import { BenchResult, buildResult, countError, Sample } from '../lib/result';

export const STREAM_USAGE = `stream --url <site URL> --api-key <app API key> [--query text] [--inputs JSON] [--samples N]
       [--request-timeout S] [--time-limit S] [--out file.json]
  POSTs <site>/v1/chat-messages in streaming mode; times the first SSE event, the first answer text and the end.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  url: { type: 'string' },
  'api-key': { type: 'string' },
  query: { type: 'string' },
  inputs: { type: 'string' },
  samples: { type: 'string' },
  'request-timeout': { type: 'string' },
} as const;

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Incremental text/event-stream parser (WHATWG HTML "server-sent events"): events end at a blank line, `data:` lines
 * join with newlines, lines starting with ':' are comments. Chunks may split anywhere, even inside a line.
 */
export class SseParser {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n\r\n|\n\n|\r\r/.exec(this.buffer);
      if (!match) break;
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const parsed = parseBlock(block);
      if (parsed) events.push(parsed);
    }
    return events;
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event = '';
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event === '' && data.length === 0) return undefined;
  return { event, data: data.join('\n') };
}

/** Dify puts the event name inside the JSON (`{"event":"message","answer":"..."}`); `event:` lines carry pings. */
function difyEvent(raw: SseEvent): { name: string; answer: string; errorMessage?: string } {
  let payload: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(raw.data);
    if (typeof parsed === 'object' && parsed !== null) payload = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (e.g. `event: ping` with no data): the SSE event name is all there is.
  }
  const name = typeof payload.event === 'string' ? payload.event : raw.event || 'message';
  const answer = typeof payload.answer === 'string' ? payload.answer : '';
  const errorMessage =
    name === 'error' ? String(payload.message ?? payload.code ?? raw.data ?? 'error event') : undefined;
  return { name, answer, errorMessage };
}

export async function runStream(argv: string[], io: BenchIo): Promise<BenchResult> {
  const command = 'stream';
  const { values } = parseCommandArgs(command, argv, OPTIONS);
  const site = urlOption(command, 'url', requireString(command, values, 'url'));
  const apiKey = requireString(command, values, 'api-key');
  const query = stringOption(values, 'query') ?? 'Reply with one short sentence: what is Dify?';
  const samples = intOption(command, values, 'samples', 1, 1, 100);
  const requestTimeoutMs = secondsOption(command, values, 'request-timeout', 120);
  const deadline = new Deadline(secondsOption(command, values, 'time-limit', 600));
  let inputs: unknown = {};
  const rawInputs = stringOption(values, 'inputs');
  if (rawInputs !== undefined) {
    try {
      inputs = JSON.parse(rawInputs);
    } catch {
      throw new BenchUsageError(`stream: --inputs must be a JSON object, got '${rawInputs}'`);
    }
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
      throw new BenchUsageError(`stream: --inputs must be a JSON object, got '${rawInputs}'`);
    }
  }
  const endpoint = new URL('v1/chat-messages', site.href.endsWith('/') ? site.href : `${site.href}/`);
  const progress = (text: string): void => io.stderr(`[stream] ${text}\n`);
  const agent = site.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = { 'first event': [], 'first answer': [], total: [] };
  const errors: Record<string, number> = {};
  const recorded: Sample[] = [];
  let stoppedEarly: string | undefined;
  let lastFailure = '';

  try {
    for (let sample = 1; sample <= samples; sample += 1) {
      if (deadline.expired) {
        stoppedEarly = deadline.description;
        break;
      }
      const parser = new SseParser();
      let firstEventMs: number | undefined;
      let firstAnswerMs: number | undefined;
      let eventCount = 0;
      let pingCount = 0;
      let answerLength = 0;
      let streamError: string | undefined;
      let response;
      try {
        response = await timedRequest(endpoint, {
          method: 'POST',
          timeoutMs: Math.min(requestTimeoutMs, Math.max(1000, deadline.remainingMs)),
          agent,
          keepBody: true,
          headers: {
            authorization: `Bearer ${apiKey}`,
            'content-type': 'application/json',
            accept: 'text/event-stream',
          },
          body: JSON.stringify({
            inputs,
            query,
            response_mode: 'streaming',
            user: 'dify-edge-bench',
            conversation_id: '',
          }),
          onData: (chunk, elapsedMs) => {
            for (const raw of parser.push(chunk)) {
              const event = difyEvent(raw);
              eventCount += 1;
              firstEventMs ??= elapsedMs;
              if (event.name === 'ping') pingCount += 1;
              if (event.answer) {
                firstAnswerMs ??= elapsedMs;
                answerLength += event.answer.length;
              }
              if (event.errorMessage) streamError ??= event.errorMessage;
            }
          },
        });
      } catch (error) {
        if (sample === 1 && recorded.length === 0) throw new BenchError(describeNetworkError(endpoint.href, error));
        const code = errorCode(error) ?? 'ERROR';
        countError(errors, code);
        recorded.push({ sample, status: null, error: code });
        progress(`sample ${sample}/${samples}: ${describeNetworkError(endpoint.href, error)}`);
        continue;
      }
      const isEventStream = response.contentType.includes('text/event-stream');
      let failure: string | undefined;
      if (response.status !== 200) {
        failure = `HTTP ${response.status}`;
        lastFailure = `${endpoint.href} answered HTTP ${response.status}${response.status === 401 ? ' (API key rejected)' : ''}: ${response.body.slice(0, 300)}`;
      } else if (!isEventStream) {
        failure = 'not an event stream';
        lastFailure = `${endpoint.href} answered ${response.contentType || 'no content type'} instead of text/event-stream`;
      } else if (streamError) {
        failure = 'SSE error event';
        lastFailure = `the stream carried an error event: ${streamError}`;
      }
      recorded.push({
        sample,
        status: response.status,
        ttfbMs: response.ttfbMs,
        firstEventMs: firstEventMs ?? null,
        firstAnswerMs: firstAnswerMs ?? null,
        totalMs: response.totalMs,
        eventCount,
        pingCount,
        answerLength,
        bytes: response.bytes,
        error: failure ?? null,
      });
      if (failure) {
        countError(errors, failure);
        progress(`sample ${sample}/${samples}: failed: ${lastFailure}`);
        continue;
      }
      if (firstEventMs !== undefined) phases['first event'].push(firstEventMs);
      if (firstAnswerMs !== undefined) phases['first answer'].push(firstAnswerMs);
      phases.total.push(response.totalMs);
      progress(
        `sample ${sample}/${samples}: first event ${Math.round(firstEventMs ?? Number.NaN)} ms, ` +
          `${eventCount} events, answer ${answerLength} chars, total ${Math.round(response.totalMs)} ms`,
      );
    }
  } finally {
    agent.destroy();
  }
  if (phases.total.length === 0 && lastFailure) throw new BenchError(`no stream succeeded: ${lastFailure}`);

  return buildResult({
    kind: 'stream',
    label: stringOption(values, 'label') ?? `stream ${site.host}`,
    target: endpoint.href,
    startedAt,
    settings: { samples, query, requestTimeoutMs },
    phases,
    errors,
    samples: recorded,
    stoppedEarly,
    notes: ['Streamed Lambda responses are billed for the whole stream, including time the model takes to answer.'],
  });
}
