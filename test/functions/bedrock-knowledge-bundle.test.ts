import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildLlrtBundle } from '../support/llrt-bundle';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from '../containers/fake-secrets-manager';
import { startFakeBedrockAgentRuntime, type FakeBedrockAgentRuntime } from './fake-bedrock-agent-runtime';
import { fakeCredentials } from './local-server';

const KB = 'KBAAAAAAAA';
const API_KEY = 'bundleTestKey0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * The handler bundled exactly as the LLRT function is (browser platform, ESM, only the runtime-provided Secrets
 * Manager client external) and run in a separate Node.js process. There is no LLRT binary here (no internet), so
 * this is the closest check that the browser build of the Bedrock client works with fetch and the credentials
 * from the environment. The runner also makes `Response.body` return null, as LLRT's fetch does (LLRT API.md,
 * "FETCH"), so the client and the adapter must read bodies without streams.
 */
const RUNNER = `
Object.defineProperty(Response.prototype, 'body', { get() { return null; } });
const { createHandler } = await import('./index.mjs');
const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
const input = JSON.parse(process.env.RUNNER_INPUT);
const secretsManager = new SecretsManagerClient({
  endpoint: input.secretsEndpoint,
  region: 'ap-northeast-1',
  credentials: input.credentials,
});
const handler = createHandler(input.env, {
  bedrockEndpoint: input.bedrockEndpoint,
  secretsManager,
  log: () => undefined,
});
const results = [];
for (const event of input.events) results.push(await handler(event));
process.stdout.write(JSON.stringify(results));
`;

function event(body: string | undefined, authorization: string): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/retrieval',
    rawQueryString: '',
    headers: { host: 'fn.lambda-url.ap-northeast-1.on.aws', authorization, 'content-type': 'application/json' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'fn',
      domainName: 'fn.lambda-url.ap-northeast-1.on.aws',
      domainPrefix: 'fn',
      http: { method: 'POST', path: '/retrieval', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'httpx' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: false,
  };
}

describe('the LLRT bundle of the Bedrock Knowledge Bases handler', () => {
  let dir: string;
  let bedrock: FakeBedrockAgentRuntime;
  let secrets: FakeSecretsManager;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-llrt-bundle-'));
    await buildLlrtBundle('functions/bedrock-knowledge/index.ts', ['@aws-sdk/client-secrets-manager'], dir);
    fs.writeFileSync(path.join(dir, 'run.mjs'), RUNNER);
    bedrock = await startFakeBedrockAgentRuntime({
      [KB]: [
        {
          content: { type: 'TEXT', text: 'Bundled and retrieved.' },
          location: { type: 'S3', s3Location: { uri: 's3://docs/guide.pdf' } },
          score: 0.8,
          metadata: { 'x-amz-bedrock-kb-document-page-number': 2 },
        },
      ],
    });
    secrets = await startFakeSecretsManager([{ name: 'key', arn: secretArn('key'), secretString: API_KEY }]);
  });

  afterAll(async () => {
    await bedrock?.close();
    await secrets?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('is browser-platform code: the fetch handler, not the Node.js HTTP/2 handler', () => {
    const code = fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    expect(code).not.toContain('NodeHttp2Handler');
    expect(code).not.toMatch(/from\s*["'](?:node:)?(?:http2?|https)["']/);
  });

  test('answers the probe, retrieves through the Bedrock client with fetch, and rejects a wrong key', async () => {
    const input = {
      env: {
        KNOWLEDGE_BASE_IDS: KB,
        KNOWLEDGE_BASE_REGION: 'us-east-1',
        API_KEY_SECRET_ARN: secretArn('key'),
        AWS_REGION: 'ap-northeast-1',
        AWS_ACCESS_KEY_ID: fakeCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: fakeCredentials.secretAccessKey,
      },
      credentials: fakeCredentials,
      bedrockEndpoint: bedrock.endpoint,
      secretsEndpoint: secrets.endpoint,
      events: [
        event(undefined, `Bearer ${API_KEY}`),
        event(
          JSON.stringify({
            retrieval_setting: { top_k: 2, score_threshold: 0.5 },
            query: 'guide',
            knowledge_id: KB,
            metadata_condition: {
              logical_operator: 'and',
              conditions: [{ name: 'year', comparison_operator: '≥', value: 2024 }],
            },
          }),
          `Bearer ${API_KEY}`,
        ),
        event('{}', 'Bearer wrong'),
      ],
    };
    const { stdout } = await promisify(execFile)(process.execPath, ['run.mjs'], {
      cwd: dir,
      env: { PATH: process.env.PATH, RUNNER_INPUT: JSON.stringify(input) },
      timeout: 30_000,
    });
    const [probe, retrieval, denied] = JSON.parse(stdout) as Array<{ statusCode: number; body: string }>;
    expect([probe.statusCode, JSON.parse(probe.body)]).toEqual([200, { records: [] }]);
    expect(retrieval.statusCode).toBe(200);
    expect(JSON.parse(retrieval.body)).toEqual({
      records: [
        {
          content: 'Bundled and retrieved.',
          score: 0.8,
          title: 'guide.pdf',
          metadata: {
            'x-amz-bedrock-kb-document-page-number': 2,
            source_uri: 's3://docs/guide.pdf',
            location_type: 'S3',
            page_number: 2,
          },
        },
      ],
    });
    expect(bedrock.calls).toHaveLength(1);
    expect(bedrock.calls[0].body.retrievalConfiguration).toEqual({
      vectorSearchConfiguration: {
        numberOfResults: 2,
        filter: { greaterThanOrEquals: { key: 'year', value: 2024 } },
      },
    });
    expect(bedrock.calls[0].authorization).toMatch(/Credential=AKIDTEST\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    expect(denied.statusCode).toBe(403);
  });
});
