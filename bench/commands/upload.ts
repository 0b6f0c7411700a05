import * as http from 'node:http';
import * as https from 'node:https';
import { randomBytes } from 'node:crypto';
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
import { isServed, timedRequest } from '../lib/http';
import { BenchResult, buildResult, countError, Sample } from '../lib/result';

export const UPLOAD_USAGE = `upload --url <site URL> [--sizes 1,4,...] [--repeat N] [--path /console/api/files/upload] [--token T] [--request-timeout S] [--time-limit S] [--out file.json]
  Times multipart uploads of each size (MB of random, non-UTF-8 bytes) through the site and reports failures by
  status, e.g. 413 above the upload limit (README "Upload limit"). --token is sent as "Authorization: Bearer T"
  (a console access token or a service API key, matching --path).`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  url: { type: 'string' },
  sizes: { type: 'string' },
  repeat: { type: 'string' },
  path: { type: 'string' },
  token: { type: 'string' },
  'request-timeout': { type: 'string' },
} as const;

const MB = 1024 * 1024;
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Sizes in MB, e.g. "1,4,0.5"; each > 0 and at most 100. */
export function parseSizes(raw: string | undefined): number[] {
  const sizes = (raw ?? '1,4').split(',').map((part) => Number(part.trim()));
  if (sizes.length === 0 || sizes.some((size) => !Number.isFinite(size) || size <= 0 || size > 100)) {
    throw new BenchUsageError(`upload: --sizes must be a comma-separated list of MB values in (0, 100], got '${raw}'`);
  }
  return sizes;
}

/** A multipart/form-data body with one file part of exactly `fileBytes` random bytes (as Dify's UI posts). */
export function multipartBody(boundary: string, fileBytes: number): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    randomBytes(fileBytes),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

export async function runUpload(argv: string[], io: BenchIo): Promise<BenchResult> {
  const command = 'upload';
  const { values } = parseCommandArgs(command, argv, OPTIONS);
  const site = urlOption(command, 'url', requireString(command, values, 'url'));
  const uploadPath = stringOption(values, 'path') ?? '/console/api/files/upload';
  if (!uploadPath.startsWith('/')) throw new BenchUsageError(`upload: --path must start with '/', got '${uploadPath}'`);
  const url = new URL(uploadPath, site);
  const sizes = parseSizes(stringOption(values, 'sizes'));
  const repeat = intOption(command, values, 'repeat', 3, 1, 1000);
  const token = stringOption(values, 'token');
  const requestTimeoutMs = secondsOption(command, values, 'request-timeout', 120);
  const deadline = new Deadline(secondsOption(command, values, 'time-limit', 600));
  const progress = (text: string): void => io.stderr(`[upload] ${text}\n`);

  const agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const startedAt = new Date().toISOString();
  const phases: Record<string, number[]> = {};
  const errors: Record<string, number> = {};
  const statusCounts: Record<string, number> = {};
  const samples: Sample[] = [];
  let sawResponse = false;
  let index = 0;
  try {
    for (const size of sizes) {
      const phase = `${size} MB`;
      phases[phase] = [];
      for (let attempt = 0; attempt < repeat && !deadline.expired; attempt += 1) {
        const boundary = `----difyEdgeBench${randomBytes(8).toString('hex')}`;
        const body = multipartBody(boundary, Math.round(size * MB));
        const headers: Record<string, string> = { 'content-type': `multipart/form-data; boundary=${boundary}` };
        if (token) headers.authorization = `Bearer ${token}`;
        try {
          const response = await timedRequest(url, {
            method: 'POST',
            headers,
            body,
            timeoutMs: requestTimeoutMs,
            agent,
            keepBody: true,
          });
          sawResponse = true;
          countError(statusCounts, `${phase}: ${response.status}`);
          samples.push({ index, sizeMb: size, bytes: body.length, status: response.status, totalMs: response.totalMs });
          if (isServed(response.status)) phases[phase].push(response.totalMs);
          else countError(errors, `HTTP ${response.status} (${phase})`);
        } catch (error) {
          const code = errorCode(error) ?? 'ERROR';
          if (!sawResponse && UNREACHABLE.has(code)) throw new BenchError(describeNetworkError(url.href, error));
          samples.push({ index, sizeMb: size, bytes: body.length, status: null, error: code, totalMs: null });
          countError(errors, `${code} (${phase})`);
        }
        index += 1;
      }
      progress(`${phase}: ${phases[phase].length}/${repeat} served`);
    }
  } finally {
    agent.destroy();
  }
  const stoppedEarly = deadline.expired ? deadline.description : undefined;
  return buildResult({
    kind: 'upload',
    label: stringOption(values, 'label') ?? `upload ${url.host}`,
    target: url.href,
    startedAt,
    settings: { sizesMb: sizes.join(','), repeat, path: uploadPath, requestTimeoutMs, authenticated: Boolean(token) },
    statusCounts,
    phases,
    errors,
    samples,
    stoppedEarly,
    notes: ['Phases are whole-request times (upload and answer) per file size; failures are counted by status.'],
  });
}
