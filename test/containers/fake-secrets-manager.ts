import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

/** One stored secret of the fake Secrets Manager. */
export interface FakeSecret {
  readonly name: string;
  readonly arn: string;
  readonly secretString: string;
  /** When true, reading it yields an AccessDeniedException entry in the batch's Errors list. */
  readonly denied?: boolean;
}

/** A request as the fake server received it. */
export interface RecordedCall {
  readonly target: string;
  readonly contentType: string;
  readonly authorization: string;
  readonly body: { SecretIdList?: string[]; NextToken?: string; SecretId?: string };
}

export interface FakeSecretsManager {
  readonly endpoint: string;
  readonly calls: RecordedCall[];
  close(): Promise<void>;
}

interface SecretValueEntry {
  ARN: string;
  Name: string;
  VersionId: string;
  SecretString: string;
  VersionStages: string[];
  CreatedDate: number;
}

interface ErrorEntry {
  SecretId: string;
  ErrorCode: string;
  Message: string;
}

export function secretArn(name: string, suffix = 'AbCdEf'): string {
  return `arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:${name}-${suffix}`;
}

/** A stored secret as the real API returns it, in GetSecretValue and in BatchGetSecretValue's SecretValues. */
function secretValueEntry(secret: FakeSecret): SecretValueEntry {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: '00000000-0000-0000-0000-000000000001',
    SecretString: secret.secretString,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: 1_700_000_000,
  };
}

function findSecret(secrets: readonly FakeSecret[], secretId: string): FakeSecret | undefined {
  return secrets.find(
    (secret) => secret.name === secretId || secret.arn === secretId || secret.arn.startsWith(`${secretId}-`),
  );
}

/**
 * A local server speaking the Secrets Manager awsJson1_1 protocol for BatchGetSecretValue (and GetSecretValue), with the
 * response shape of the real API: found secrets in SecretValues, per-secret failures in Errors.
 */
export function startFakeSecretsManager(secrets: readonly FakeSecret[]): Promise<FakeSecretsManager> {
  const calls: RecordedCall[] = [];
  const app = new Hono();
  app.post('/', async (context) => {
    const target = context.req.header('x-amz-target') ?? '';
    const rawBody = await context.req.text();
    let body: RecordedCall['body'];
    try {
      body = JSON.parse(rawBody) as RecordedCall['body'];
    } catch {
      return context.json({ __type: 'InvalidRequestException', message: 'body is not JSON' }, 400);
    }
    calls.push({
      target,
      contentType: context.req.header('content-type') ?? '',
      authorization: context.req.header('authorization') ?? '',
      body,
    });
    if (target === 'secretsmanager.GetSecretValue') {
      const secret = findSecret(secrets, body.SecretId ?? '');
      context.header('content-type', 'application/x-amz-json-1.1');
      if (!secret || secret.denied) {
        const type = secret ? 'AccessDeniedException' : 'ResourceNotFoundException';
        return context.body(JSON.stringify({ __type: type, message: `${type} for ${body.SecretId}` }), 400);
      }
      return context.body(JSON.stringify(secretValueEntry(secret)));
    }
    if (target !== 'secretsmanager.BatchGetSecretValue') {
      return context.json({ __type: 'UnknownOperationException', message: `unsupported ${target}` }, 400);
    }
    const secretIds = body.SecretIdList ?? [];
    if (secretIds.length === 0 || secretIds.length > 20) {
      return context.json(
        { __type: 'InvalidParameterException', message: 'SecretIdList must hold 1 to 20 secret ids' },
        400,
      );
    }
    const secretValues: SecretValueEntry[] = [];
    const errors: ErrorEntry[] = [];
    for (const secretId of secretIds) {
      const secret = findSecret(secrets, secretId);
      if (!secret) {
        errors.push({
          SecretId: secretId,
          ErrorCode: 'ResourceNotFoundException',
          Message: "Secrets Manager can't find the specified secret.",
        });
      } else if (secret.denied) {
        errors.push({
          SecretId: secretId,
          ErrorCode: 'AccessDeniedException',
          Message: 'User is not authorized to perform: secretsmanager:GetSecretValue',
        });
      } else {
        secretValues.push(secretValueEntry(secret));
      }
    }
    context.header('content-type', 'application/x-amz-json-1.1');
    return context.body(JSON.stringify({ SecretValues: secretValues, Errors: errors }));
  });

  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        endpoint: `http://127.0.0.1:${info.port}`,
        calls,
        close: () =>
          new Promise<void>((done, fail) => {
            if ('closeAllConnections' in server) {
              server.closeAllConnections();
            }
            server.close((error) => (error ? fail(error) : done()));
          }),
      });
    });
  });
}
