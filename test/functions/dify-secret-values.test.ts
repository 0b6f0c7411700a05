import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Hono } from 'hono';
import { createHandler, fillMissingFields, parseFieldLengths } from '../../functions/dify-secret-values';
import { DIFY_SECRET_FIELDS } from '../../lib/constructs/dify-secrets';
import { fakeCredentials, startLocalServer, type LocalServer } from './local-server';

const SECRET_ARN = 'arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:DifySecret-AbCdEf';
const ALPHANUMERIC = /^[A-Za-z0-9]+$/;

/**
 * A local Secrets Manager (awsJson1_1) with one mutable secret: GetSecretValue and PutSecretValue, as the real API
 * answers them, including ResourceNotFoundException for a secret without a current value.
 */
interface SecretStore {
  value: string | undefined;
  puts: string[];
  failPut?: boolean;
}

function secretsManagerApp(store: SecretStore): Hono {
  const app = new Hono();
  app.post('/', async (c) => {
    const target = c.req.header('x-amz-target');
    const body = (await c.req.json()) as { SecretId?: string; SecretString?: string };
    c.header('content-type', 'application/x-amz-json-1.1');
    if (body.SecretId !== SECRET_ARN) {
      return c.body(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }), 400);
    }
    if (target === 'secretsmanager.GetSecretValue') {
      if (store.value === undefined) {
        return c.body(
          JSON.stringify({ __type: 'ResourceNotFoundException', message: "can't find a current version" }),
          400,
        );
      }
      return c.body(JSON.stringify({ ARN: SECRET_ARN, Name: 'DifySecret', SecretString: store.value }));
    }
    if (target === 'secretsmanager.PutSecretValue') {
      if (store.failPut) return c.body(JSON.stringify({ __type: 'AccessDeniedException', message: 'denied' }), 400);
      store.value = body.SecretString;
      store.puts.push(body.SecretString ?? '');
      return c.body(JSON.stringify({ ARN: SECRET_ARN, Name: 'DifySecret', VersionId: 'v2' }));
    }
    return c.body(JSON.stringify({ __type: 'UnknownOperationException', message: String(target) }), 400);
  });
  return app;
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, unknown> = { SecretArn: SECRET_ARN, Fields: JSON.stringify(DIFY_SECRET_FIELDS) },
): CloudFormationCustomResourceEvent {
  const common = {
    ServiceToken: 'arn:aws:lambda:ap-northeast-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response-apnortheast1.s3.amazonaws.com/signed',
    StackId: 'arn:aws:cloudformation:ap-northeast-1:123456789012:stack/DifyEdge-Regional/5e0c6f70',
    RequestId: '7c1d2e3f',
    LogicalResourceId: 'SecretsValues',
    ResourceType: 'Custom::DifySecretValues',
    ResourceProperties: { ServiceToken: 'x', ...properties },
  };
  if (requestType === 'Create') return { ...common, RequestType: 'Create' };
  if (requestType === 'Update') {
    return {
      ...common,
      RequestType: 'Update',
      PhysicalResourceId: SECRET_ARN,
      OldResourceProperties: { ServiceToken: 'x' },
    };
  }
  return { ...common, RequestType: 'Delete', PhysicalResourceId: SECRET_ARN };
}

describe('dify-secret-values custom resource against a local Secrets Manager', () => {
  let server: LocalServer;
  let store: SecretStore;
  let logs: Array<Record<string, unknown>>;
  let onEvent: ReturnType<typeof createHandler>;

  beforeEach(async () => {
    // What Secrets Manager generates for the secret itself: one field.
    store = { value: JSON.stringify({ secretKey: 'S'.repeat(48) }), puts: [] };
    server = await startLocalServer(secretsManagerApp(store));
    logs = [];
    onEvent = createHandler({
      secretsManager: new SecretsManagerClient({
        endpoint: server.endpoint,
        region: 'ap-northeast-1',
        credentials: fakeCredentials,
        maxAttempts: 1,
      }),
      log: (entry) => logs.push(entry),
    });
  });
  afterEach(() => server.close());

  test('Create adds every missing field with a random alphanumeric value of its length and keeps secretKey', async () => {
    const response = await onEvent(event('Create'));

    const document = JSON.parse(store.value ?? '{}') as Record<string, string>;
    expect(document.secretKey).toBe('S'.repeat(48));
    for (const [field, length] of Object.entries(DIFY_SECRET_FIELDS)) {
      expect(document[field]).toMatch(ALPHANUMERIC);
      expect(document[field]).toHaveLength(length);
    }
    expect(new Set(Object.values(document)).size).toBe(Object.keys(document).length);
    expect(response).toEqual({
      PhysicalResourceId: SECRET_ARN,
      Data: { GeneratedFields: 'sandboxApiKey,pluginDaemonKey,innerApiKey,redisAuthToken,initPassword' },
    });
    // Nothing secret leaves the function: not in the response, not in the logs.
    const printed = JSON.stringify([response, logs]);
    for (const value of Object.values(document)) expect(printed).not.toContain(value);
  });

  test('Update keeps every existing value and writes nothing when nothing is missing', async () => {
    await onEvent(event('Create'));
    const before = store.value;
    await onEvent(event('Update'));
    expect(store.value).toBe(before);
    expect(store.puts).toHaveLength(1);
  });

  test('a field added later is generated on Update, the others stay', async () => {
    await onEvent(event('Create'));
    const before = JSON.parse(store.value ?? '{}') as Record<string, string>;
    await onEvent(
      event('Update', {
        SecretArn: SECRET_ARN,
        Fields: JSON.stringify({ ...DIFY_SECRET_FIELDS, relayOriginKey: 32 }),
      }),
    );
    const after = JSON.parse(store.value ?? '{}') as Record<string, string>;
    expect(after).toEqual({ ...before, relayOriginKey: expect.stringMatching(/^[A-Za-z0-9]{32}$/) });
  });

  test('a secret without a current value is filled from nothing', async () => {
    store.value = undefined;
    await onEvent(event('Create'));
    expect(Object.keys(JSON.parse(store.value ?? '{}'))).toEqual(Object.keys(DIFY_SECRET_FIELDS));
  });

  test('Delete touches nothing', async () => {
    const before = store.value;
    await onEvent(event('Delete'));
    expect(store.value).toBe(before);
    expect(store.puts).toHaveLength(0);
  });

  test('a current value that is not a JSON object is never overwritten, and the error does not quote it', async () => {
    store.value = 'plain-text-secret-value';
    await expect(onEvent(event('Create'))).rejects.toThrow(/not JSON; refusing to overwrite it/);
    await expect(onEvent(event('Create'))).rejects.not.toThrow(/plain-text-secret-value/);
    expect(store.value).toBe('plain-text-secret-value');
  });

  test('a failed write fails the deploy with the reason', async () => {
    store.failPut = true;
    await expect(onEvent(event('Create'))).rejects.toThrow(/cannot write .*AccessDeniedException/);
  });

  test('bad properties are reported by name', async () => {
    await expect(onEvent(event('Create', { Fields: '{}' }))).rejects.toThrow(/SecretArn is required/);
    await expect(onEvent(event('Create', { SecretArn: SECRET_ARN, Fields: '{"a-b":20}' }))).rejects.toThrow(
      /field name "a-b"/,
    );
    await expect(onEvent(event('Create', { SecretArn: SECRET_ARN, Fields: '{"key":8}' }))).rejects.toThrow(
      /length of field key must be an integer from 16 to 128/,
    );
    await expect(onEvent(event('Create', { SecretArn: SECRET_ARN, Fields: 'nope' }))).rejects.toThrow(/not valid JSON/);
  });
});

describe('dify-secret-values helpers', () => {
  test('parseFieldLengths accepts CloudFormation-stringified numbers', () => {
    expect(parseFieldLengths('{"a":"20","b":32}')).toEqual({ a: 20, b: 32 });
  });

  test('fillMissingFields regenerates empty fields but refuses non-string ones', () => {
    const generate = (length: number) => 'g'.repeat(length);
    expect(fillMissingFields('{"a":"","b":"kept"}', { a: 16, b: 16 }, generate)).toEqual({
      text: JSON.stringify({ a: 'g'.repeat(16), b: 'kept' }),
      generated: ['a'],
    });
    expect(() => fillMissingFields('{"a":42}', { a: 16 }, generate)).toThrow(/field a of the secret is not a string/);
  });
});
