/**
 * `npm run bench -- upload` against a local site stand-in that answers like this deployment does: uploads up to
 * its limit are accepted (their multipart file bytes checked), larger ones get the relay's 413 JSON.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../bench/cli';
import { multipartBody, parseSizes } from '../../bench/commands/upload';
import { readResult } from '../../bench/lib/result';
import { RELAY_BODY_LIMIT_BYTES } from '../../functions/upload-relay/routes';
import { captureIo, listen, type LocalServer } from './stand-ins';

interface Received {
  path: string;
  authorization?: string;
  bytes: number;
  sha256: string;
}

async function startSite(limitBytes: number): Promise<LocalServer & { received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({
        path: request.url ?? '',
        authorization: request.headers.authorization,
        bytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      });
      const tooLarge = body.length > limitBytes;
      response.writeHead(tooLarge ? 413 : 201, { 'content-type': 'application/json' });
      response.end(JSON.stringify(tooLarge ? { error: 'payload_too_large', limitBytes } : { id: 'file-1' }));
    });
  });
  return { ...(await listen(server)), received };
}

describe('bench upload', () => {
  let workDir: string;
  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-bench-upload-'));
  });
  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  test('times each size and reports the sizes over the limit by status', async () => {
    const site = await startSite(RELAY_BODY_LIMIT_BYTES);
    try {
      const io = captureIo();
      const out = path.join(workDir, 'upload.json');
      const code = await main(
        ['upload', '--url', site.url, '--sizes', '1,4,5', '--repeat', '2', '--token', 'console-token', '--out', out],
        io,
      );
      expect(code).toBe(0);
      const result = readResult(out);
      expect(result.kind).toBe('upload');
      expect(result.phases['1 MB']).toHaveLength(2);
      expect(result.phases['4 MB']).toHaveLength(2);
      expect(result.phases['5 MB']).toEqual([]);
      expect(result.errors).toEqual({ 'HTTP 413 (5 MB)': 2 });
      expect(result.statusCounts).toEqual({ '1 MB: 201': 2, '4 MB: 201': 2, '5 MB: 413': 2 });
      expect(site.received.map((r) => r.path)).toEqual(Array(6).fill('/console/api/files/upload'));
      expect(site.received.every((r) => r.authorization === 'Bearer console-token')).toBe(true);
      // The file part is exactly the size asked for, plus the multipart envelope.
      const fourMb = site.received[2].bytes;
      expect(fourMb).toBeGreaterThan(4 * 1024 * 1024);
      expect(fourMb).toBeLessThan(4 * 1024 * 1024 + 400);
      expect(io.err).toMatch(/5 MB: 0\/2 served/);
    } finally {
      await site.close();
    }
  });

  test('bodies are random (not UTF-8 text) and sizes are validated', () => {
    const body = multipartBody('b', 4096);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(body)).toThrow();
    expect(parseSizes('1, 4,0.5')).toEqual([1, 4, 0.5]);
    expect(() => parseSizes('1,x')).toThrow(/--sizes/);
    expect(() => parseSizes('0')).toThrow(/--sizes/);
  });
});
