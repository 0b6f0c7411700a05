/**
 * Backend sleep (docs/adr/0018): a plugin endpoint called while the backend sleeps wakes it. The relay's real handler
 * runs behind the function-URL stand-in; the "network" resolves the regional ECS endpoint to a stand-in that checks
 * the SigV4 signature (service `ecs`) and the awsJson1_1 request, as ECS would before acting on it.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { DAEMON_RETRY_AFTER_SECONDS } from '../../functions/upload-relay/app';
import { parseBackendService, WAKE_INTERVAL_MS } from '../../functions/upload-relay/backend-wake';
import { RELAY_SECRET_HEADER } from '../../functions/upload-relay/routes';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from '../containers/fake-secrets-manager';
import {
  jsonOf,
  listen,
  readBody,
  type RunningServer,
  sendHttp,
  startFunctionUrlStandIn,
  type FunctionUrlStandIn,
} from '../edge/request-path-support';
import { fakeCredentials } from './local-server';
import {
  ECS_API_HOST,
  relayHandler,
  type Network,
  type RelayStandIn,
  startDaemonStandIn,
  startRelayFunctionUrl,
  type DaemonStandIn,
} from './upload-relay-support';

const SECRET = 'w'.repeat(48);

interface EcsCall {
  target: string;
  body: Record<string, unknown>;
  signatureValid: boolean;
}

async function startEcsStandIn(calls: EcsCall[], status: () => number): Promise<RunningServer> {
  const verifier = new SignatureV4({
    service: 'ecs',
    region: 'ap-northeast-1',
    credentials: fakeCredentials,
    sha256: Sha256,
  });
  return listen(async (message, response) => {
    const body = await readBody(message);
    const authorization = String(message.headers.authorization ?? '');
    const signedNames = /SignedHeaders=([a-z0-9;-]+)/.exec(authorization)?.[1].split(';') ?? [];
    const headers: Record<string, string> = {};
    for (const name of signedNames) headers[name] = String(message.headers[name] ?? '');
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(String(message.headers['x-amz-date']));
    let signatureValid = false;
    if (date !== null) {
      const [, y, mo, d, h, mi, s] = date;
      const recomputed = await verifier.sign(
        {
          method: message.method ?? '',
          protocol: 'https:',
          hostname: ECS_API_HOST,
          path: message.url ?? '/',
          headers,
          body: body.toString('utf8'),
        },
        { signingDate: new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`) },
      );
      signatureValid = recomputed.headers.authorization === authorization && signedNames.includes('x-amz-target');
    }
    calls.push({
      target: String(message.headers['x-amz-target'] ?? ''),
      body: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
      signatureValid,
    });
    const code = status();
    response.writeHead(code, { 'content-type': 'application/x-amz-json-1.1' });
    response.end(
      JSON.stringify(
        code === 200 ? { service: { desiredCount: 1 } } : { __type: 'AccessDeniedException', message: 'no' },
      ),
    );
  });
}

let secrets: FakeSecretsManager;
let functionUrl: FunctionUrlStandIn;
let daemon: DaemonStandIn;
let ecs: RunningServer;
let relay: RelayStandIn;
const calls: EcsCall[] = [];
const logs: Array<Record<string, unknown>> = [];
let ecsStatus = 200;
let clock = 5_000_000;
const network: Network = { apiPort: 0 };

beforeAll(async () => {
  secrets = await startFakeSecretsManager([
    { name: 'relay', arn: secretArn('relay'), secretString: JSON.stringify({ current: SECRET, previous: '' }) },
    { name: 'site', arn: secretArn('site'), secretString: JSON.stringify({ siteUrl: 'https://dify.example.com' }) },
  ]);
  functionUrl = await startFunctionUrlStandIn();
  daemon = await startDaemonStandIn();
  ecs = await startEcsStandIn(calls, () => ecsStatus);
  network.apiPort = functionUrl.port;
  network.ecsPort = ecs.port;
  const handler = relayHandler({
    secretsEndpoint: secrets.endpoint,
    network,
    now: () => clock,
    log: (entry) => logs.push(entry),
    env: { BACKEND_SERVICE: 'DifyEdge-Regional-Cluster1A2B3C/DifyEdge-Regional-BackendService4D5E6F' },
  });
  relay = await startRelayFunctionUrl(handler);
});

afterAll(async () => {
  await relay?.close();
  await ecs?.close();
  await daemon?.close();
  await functionUrl?.close();
  await secrets?.close();
});

beforeEach(() => {
  calls.length = 0;
  logs.length = 0;
  ecsStatus = 200;
  clock += WAKE_INTERVAL_MS * 10;
});

const callEndpoint = () =>
  sendHttp({
    port: relay.port,
    method: 'POST',
    path: '/e/hook-id/slack',
    headers: { [RELAY_SECRET_HEADER]: SECRET, 'content-length': '2' },
    body: Buffer.from('{}'),
  });

describe('upload relay wakes a sleeping backend for plugin endpoints', () => {
  test('a stopped daemon → one signed UpdateService desiredCount 1 for the configured service, and a 503', async () => {
    network.daemonPort = undefined;
    const answer = await callEndpoint();
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe(String(DAEMON_RETRY_AFTER_SECONDS));
    expect(calls).toEqual([
      {
        target: 'AmazonEC2ContainerServiceV20141113.UpdateService',
        body: {
          cluster: 'DifyEdge-Regional-Cluster1A2B3C',
          service: 'DifyEdge-Regional-BackendService4D5E6F',
          desiredCount: 1,
        },
        signatureValid: true,
      },
    ]);
    expect(logs.map((entry) => entry.event)).toContain('relay_wake_requested');
  });

  test('a burst of calls within the wake interval sends one UpdateService', async () => {
    network.daemonPort = undefined;
    for (let i = 0; i < 3; i += 1) {
      expect((await callEndpoint()).status).toBe(503);
      clock += 1000;
    }
    expect(calls).toHaveLength(1);
    clock += WAKE_INTERVAL_MS;
    await callEndpoint();
    expect(calls).toHaveLength(2);
  });

  test('an ECS error is logged and the caller still gets the 503, never a 502', async () => {
    network.daemonPort = undefined;
    ecsStatus = 400;
    const answer = await callEndpoint();
    expect(answer.status).toBe(503);
    expect(jsonOf<{ error: string }>(answer).error).toBe('backend_unavailable');
    expect(logs).toContainEqual({ event: 'relay_wake_failed', status: 400, error: 'AccessDeniedException' });
  });

  test('a running daemon is answered and ECS is never called', async () => {
    network.daemonPort = daemon.port;
    const answer = await callEndpoint();
    expect(answer.status).toBe(200);
    expect(calls).toHaveLength(0);
  });

  test('the backend service setting must be <cluster>/<service>', () => {
    expect(parseBackendService('c/s')).toEqual({ cluster: 'c', service: 's' });
    for (const bad of ['', 'cluster', 'a/b/c', 'arn:aws:ecs:ap-northeast-1:123456789012:service/c/s']) {
      expect(() => parseBackendService(bad)).toThrow(/<cluster name>\/<service name>/);
    }
  });
});
