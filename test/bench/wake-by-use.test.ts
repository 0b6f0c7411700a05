/**
 * `bench wake --app-key`: wake by use (docs/adr/0018). A site stand-in behaves like the api with backend sleep: while
 * the ECS stand-in runs no task it starts one (UpdateService desiredCount 1, as the api's wake middleware does) and
 * answers run endpoints 503 `backend_waking`; once the task runs it streams a workflow run to `workflow_finished`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../bench/cli';
import { readResult } from '../../bench/lib/result';
import { captureIo, listen, type LocalServer, startEcsStandIn, type EcsStandIn } from './stand-ins';

const TARGET = 'AmazonEC2ContainerServiceV20141113.';

function ecsCall(ecs: EcsStandIn, operation: string, body: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      ecs.url,
      {
        method: 'POST',
        headers: { 'x-amz-target': `${TARGET}${operation}`, 'content-type': 'application/x-amz-json-1.1' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

interface SiteStandIn extends LocalServer {
  requests: Array<{ path: string; authorization: string; body: Record<string, unknown> }>;
}

async function startSleepingSite(ecs: EcsStandIn, finishStatus = 'succeeded'): Promise<SiteStandIn> {
  const requests: SiteStandIn['requests'] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        requests.push({
          path: request.url ?? '',
          authorization: String(request.headers.authorization ?? ''),
          body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
        });
        const described = await ecsCall(ecs, 'DescribeServices', { cluster: 'bench', services: ['backend'] });
        const service = (described.services as Array<{ desiredCount: number; runningCount: number }>)[0];
        if (service.runningCount === 0) {
          if (service.desiredCount === 0)
            await ecsCall(ecs, 'UpdateService', { cluster: 'bench', service: 'backend', desiredCount: 1 });
          response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
          response.end(JSON.stringify({ code: 'backend_waking', message: 'starting', status: 503 }));
          return;
        }
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(`data: ${JSON.stringify({ event: 'workflow_started', data: {} })}\n\n`);
        response.write('event: ping\n\n');
        response.end(`data: ${JSON.stringify({ event: 'workflow_finished', data: { status: finishStatus } })}\n\n`);
      })();
    });
  });
  return Object.assign(await listen(server), { requests });
}

let workDir: string;
beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wake-by-use-'));
});
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

const args = (site: SiteStandIn, ecs: EcsStandIn, extra: string[] = []) => [
  'wake',
  '--url',
  site.url,
  '--app-key',
  'app-workflowkey',
  '--inputs',
  '{"topic":"wake"}',
  '--cluster',
  'bench',
  '--service',
  'backend',
  '--endpoint-url',
  ecs.url,
  '--poll-ms',
  '20',
  ...extra,
];

describe('bench wake by use', () => {
  test('times the first answer, the daemon, the task and a finished run from the first request', async () => {
    const ecs = await startEcsStandIn(200, 250);
    const site = await startSleepingSite(ecs);
    try {
      const io = captureIo();
      const out = path.join(workDir, 'wake-by-use.json');
      const code = await main([...args(site, ecs), '--timeout', '5', '--out', out], io);
      expect(io.err).not.toMatch(/error:/);
      expect(code).toBe(0);
      const result = readResult(out);
      expect(result.kind).toBe('wake');
      expect(result.summary['first answer'].count).toBe(1);
      expect(result.summary['run finished'].min).toBeGreaterThanOrEqual(190);
      expect(result.summary['task running'].min).toBeLessThanOrEqual(result.summary['run finished'].min);
      expect(result.summary['daemon reachable'].min).toBe(result.summary['run finished'].min);
      // The bench itself never scaled the service: the site's first request did.
      expect(ecs.desiredCounts).toEqual([1]);
      expect(site.requests.length).toBeGreaterThan(2);
      expect(site.requests[0]).toEqual({
        path: '/v1/workflows/run',
        authorization: 'Bearer app-workflowkey',
        body: { inputs: { topic: 'wake' }, response_mode: 'streaming', user: 'dify-edge-bench-wake' },
      });
    } finally {
      await site.close();
      await ecs.close();
    }
  });

  test('refuses to start when the backend is awake', async () => {
    const ecs = await startEcsStandIn(0, 0);
    const site = await startSleepingSite(ecs);
    try {
      await ecsCall(ecs, 'UpdateService', { cluster: 'bench', service: 'backend', desiredCount: 1 });
      const io = captureIo();
      const code = await main([...args(site, ecs), '--timeout', '2'], io);
      expect(code).toBe(1);
      expect(io.err).toMatch(/it is not asleep/);
      expect(site.requests).toHaveLength(0);
    } finally {
      await site.close();
      await ecs.close();
    }
  });

  test('a run that keeps failing ends with the timeout and the last failure', async () => {
    const ecs = await startEcsStandIn(10, 10);
    const site = await startSleepingSite(ecs, 'failed');
    try {
      const io = captureIo();
      const code = await main([...args(site, ecs), '--timeout', '0.5'], io);
      expect(code).toBe(1);
      expect(io.err).toMatch(/no workflow run finished within 1 s.*workflow_finished with status failed/);
    } finally {
      await site.close();
      await ecs.close();
    }
  });

  test.each([
    [
      ['wake', '--url', 'http://127.0.0.1:1', '--app-key', 'k', '--cluster', 'c'],
      /--cluster and --service go together/,
    ],
    [['wake', '--url', 'http://127.0.0.1:1', '--app-key', 'k', '--restore'], /--restore does not apply with --app-key/],
    [['wake', '--url', 'http://127.0.0.1:1', '--app-key', 'k', '--inputs', '[1]'], /--inputs must be a JSON object/],
    [['wake', '--app-key', 'k'], /--url is required/],
  ])('%j is a usage error', async (argv, message) => {
    const io = captureIo();
    expect(await main(argv, io)).not.toBe(0);
    expect(io.err).toMatch(message);
  });
});
