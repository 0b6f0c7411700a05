import { secretArn, startFakeSecretsManager, type FakeSecret, type FakeSecretsManager } from './fake-secrets-manager';
import {
  isolatedAwsEnvironment,
  parsePrinted,
  removeDirectory,
  runProcess,
  secretsLoaderPath,
  writeEnvironmentPrinter,
  type ProcessResult,
} from './process-helpers';

const databasePassword = 'db-Pa55:w@rd/with#chars';
const redisPassword = 'redis/p@ss:word';
const secretKey = 'sk-9f8e7d6c5b4a-do-not-leak';
const pluginDaemonKey = 'plugin-daemon-key-ZYXW';

const secrets: FakeSecret[] = [
  {
    name: 'dify/db',
    arn: secretArn('dify/db'),
    secretString: JSON.stringify({ username: 'dify', password: databasePassword, port: 5432 }),
  },
  {
    name: 'dify/redis',
    arn: secretArn('dify/redis', 'QwErTy'),
    secretString: JSON.stringify({ password: redisPassword }),
  },
  { name: 'dify/secret-key', arn: secretArn('dify/secret-key', 'ZxCvBn'), secretString: secretKey },
  { name: 'dify/plugin-key', arn: secretArn('dify/plugin-key', 'PlUgIn'), secretString: pluginDaemonKey },
  { name: 'dify/denied', arn: secretArn('dify/denied', 'DeNiEd'), secretString: 'denied-value-0001', denied: true },
];
const allSecretValues = [databasePassword, redisPassword, secretKey, pluginDaemonKey, 'denied-value-0001'];

let secretsManager: FakeSecretsManager;
let printerPath: string;
let printerDirectory: string;

beforeAll(async () => {
  secretsManager = await startFakeSecretsManager(secrets);
  ({ scriptPath: printerPath, directory: printerDirectory } = writeEnvironmentPrinter());
});

afterAll(async () => {
  await secretsManager.close();
  removeDirectory(printerDirectory);
});

beforeEach(() => {
  secretsManager.calls.length = 0;
});

function runLoader(extraEnvironment: Record<string, string>, command?: string[]): Promise<ProcessResult> {
  const next = command ?? ['python3', printerPath, 'first-arg', 'second arg'];
  return runProcess('python3', [secretsLoaderPath, '--', ...next], {
    ...isolatedAwsEnvironment(secretsManager.endpoint),
    ...extraEnvironment,
  });
}

function expectCleanFailure(result: ProcessResult, ...expectedFragments: string[]): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^dify-edge secrets_loader: /);
  for (const fragment of expectedFragments) {
    expect(result.stderr).toContain(fragment);
  }
  for (const value of allSecretValues) {
    expect(result.stderr).not.toContain(value);
  }
}

describe('secrets_loader.py (real loader, python3 + botocore, against a local Secrets Manager)', () => {
  test('resolves whole secrets and json keys by name or ARN in exactly one BatchGetSecretValue call', async () => {
    const result = await runLoader({
      DIFY_EDGE_SECRETS: JSON.stringify({
        DB_PASSWORD: `${secretArn('dify/db')}#password`,
        DB_USERNAME: `${secretArn('dify/db')}#username`,
        DB_PORT: 'dify/db#port',
        REDIS_PASSWORD: 'dify/redis#password',
        SECRET_KEY: secretArn('dify/secret-key', 'ZxCvBn'),
        PLUGIN_DAEMON_KEY: 'dify/plugin-key',
      }),
      UNRELATED: 'kept',
    });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = parsePrinted(result.stdout);
    expect(printed.env.DB_PASSWORD).toBe(databasePassword);
    expect(printed.env.DB_USERNAME).toBe('dify');
    expect(printed.env.DB_PORT).toBe('5432');
    expect(printed.env.REDIS_PASSWORD).toBe(redisPassword);
    expect(printed.env.SECRET_KEY).toBe(secretKey);
    expect(printed.env.PLUGIN_DAEMON_KEY).toBe(pluginDaemonKey);
    expect(printed.env.UNRELATED).toBe('kept');
    // The command's arguments are passed through untouched and carry no secret.
    expect(printed.argv).toEqual(['first-arg', 'second arg']);

    expect(secretsManager.calls).toHaveLength(1);
    const [call] = secretsManager.calls;
    expect(call.target).toBe('secretsmanager.BatchGetSecretValue');
    expect(call.contentType).toBe('application/x-amz-json-1.1');
    expect(call.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/ap-northeast-1\/secretsmanager\//,
    );
    // Each distinct secret is asked for once, even when several env vars read keys of the same one.
    expect([...(call.body.SecretIdList ?? [])].sort()).toEqual(
      [secretArn('dify/db'), 'dify/db', 'dify/redis', secretArn('dify/secret-key', 'ZxCvBn'), 'dify/plugin-key'].sort(),
    );
  });

  test('accepts a partial ARN (without the random suffix) and maps it to the full ARN in the answer', async () => {
    const partialArn = secretArn('dify/secret-key', 'ZxCvBn').slice(0, -'-ZxCvBn'.length);
    const result = await runLoader({ DIFY_EDGE_SECRETS: JSON.stringify({ SECRET_KEY: partialArn }) });
    expect(result.code).toBe(0);
    expect(parsePrinted(result.stdout).env.SECRET_KEY).toBe(secretKey);
  });

  test('resolves templates against the environment after the secrets are set, with |url encoding', async () => {
    const result = await runLoader({
      REDIS_HOST: 'cache.internal',
      DIFY_EDGE_SECRETS: JSON.stringify({ REDIS_PASSWORD: 'dify/redis#password' }),
      DIFY_EDGE_TEMPLATES: JSON.stringify({
        CELERY_BROKER_URL: 'rediss://:${REDIS_PASSWORD|url}@${REDIS_HOST}:6379/1',
        RAW_COPY: '${REDIS_PASSWORD}',
        // The bare shell form the CDK templates use (also valid in the ECS bash wrapper).
        SHELL_STYLE: 'rediss://:$REDIS_PASSWORD@$REDIS_HOST:6379/1',
      }),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = parsePrinted(result.stdout);
    expect(printed.env.CELERY_BROKER_URL).toBe('rediss://:redis%2Fp%40ss%3Aword@cache.internal:6379/1');
    expect(new URL(printed.env.CELERY_BROKER_URL).hostname).toBe('cache.internal');
    expect(printed.env.RAW_COPY).toBe(redisPassword);
    expect(printed.env.SHELL_STYLE).toBe(`rediss://:${redisPassword}@cache.internal:6379/1`);
    expect(secretsManager.calls).toHaveLength(1);
  });

  test('fetches more than 20 distinct secrets in chunks of at most 20 ids', async () => {
    const manySecrets: FakeSecret[] = Array.from({ length: 23 }, (_, index) => ({
      name: `bulk/secret-${index}`,
      arn: secretArn(`bulk/secret-${index}`),
      secretString: `bulk-value-${index}`,
    }));
    const bulkServer = await startFakeSecretsManager(manySecrets);
    try {
      const references = Object.fromEntries(manySecrets.map((secret, index) => [`BULK_${index}`, secret.name]));
      const result = await runProcess('python3', [secretsLoaderPath, '--', 'python3', printerPath], {
        ...isolatedAwsEnvironment(bulkServer.endpoint),
        DIFY_EDGE_SECRETS: JSON.stringify(references),
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const printed = parsePrinted(result.stdout);
      manySecrets.forEach((_, index) => expect(printed.env[`BULK_${index}`]).toBe(`bulk-value-${index}`));
      expect(bulkServer.calls.map((call) => call.body.SecretIdList?.length)).toEqual([20, 3]);
    } finally {
      await bulkServer.close();
    }
  });

  test('with DIFY_EDGE_SECRETS unset it makes no AWS call and just execs (templates still apply)', async () => {
    const result = await runLoader({
      DIFY_PORT: '5001',
      DIFY_EDGE_TEMPLATES: JSON.stringify({ LISTEN: '0.0.0.0:${DIFY_PORT}' }),
    });
    expect(result.code).toBe(0);
    expect(parsePrinted(result.stdout).env.LISTEN).toBe('0.0.0.0:5001');
    expect(secretsManager.calls).toHaveLength(0);
  });

  test('an empty DIFY_EDGE_SECRETS also just execs', async () => {
    const result = await runLoader({ DIFY_EDGE_SECRETS: '' });
    expect(result.code).toBe(0);
    expect(parsePrinted(result.stdout).argv).toEqual(['first-arg', 'second arg']);
    expect(secretsManager.calls).toHaveLength(0);
  });

  describe('fails fast with one clear line on stderr, exit 1, and no secret value', () => {
    test('malformed DIFY_EDGE_SECRETS JSON names the variable', async () => {
      const result = await runLoader({ DIFY_EDGE_SECRETS: '{"DB_PASSWORD": "dify/db#password",' });
      expectCleanFailure(result, 'DIFY_EDGE_SECRETS is not valid JSON');
      expect(secretsManager.calls).toHaveLength(0);
    });

    test('malformed DIFY_EDGE_TEMPLATES JSON names the variable', async () => {
      const result = await runLoader({
        DIFY_EDGE_SECRETS: JSON.stringify({ SECRET_KEY: 'dify/secret-key' }),
        DIFY_EDGE_TEMPLATES: 'not json',
      });
      expectCleanFailure(result, 'DIFY_EDGE_TEMPLATES is not valid JSON');
    });

    test('a JSON array instead of an object is rejected', async () => {
      const result = await runLoader({ DIFY_EDGE_SECRETS: '["dify/db"]' });
      expectCleanFailure(result, 'DIFY_EDGE_SECRETS must be a JSON object');
    });

    test('an invalid env var name is rejected', async () => {
      const result = await runLoader({ DIFY_EDGE_SECRETS: JSON.stringify({ 'BAD-NAME': 'dify/db' }) });
      expectCleanFailure(result, "invalid env var name 'BAD-NAME'");
    });

    test('a missing secret names the env var and the secret id', async () => {
      const result = await runLoader({
        DIFY_EDGE_SECRETS: JSON.stringify({ SECRET_KEY: 'dify/secret-key', MAIL_PASSWORD: 'dify/does-not-exist' }),
      });
      expectCleanFailure(result, 'MAIL_PASSWORD', 'dify/does-not-exist', 'ResourceNotFoundException');
      expect(secretsManager.calls).toHaveLength(1);
    });

    test('access denied names the env var and the secret id', async () => {
      const result = await runLoader({
        DIFY_EDGE_SECRETS: JSON.stringify({ DB_PASSWORD: 'dify/db#password', API_KEY: 'dify/denied' }),
      });
      expectCleanFailure(result, 'API_KEY', 'dify/denied', 'AccessDeniedException');
    });

    test('several unreadable secrets are all reported in the same line', async () => {
      const result = await runLoader({
        DIFY_EDGE_SECRETS: JSON.stringify({ API_KEY: 'dify/denied', MAIL_PASSWORD: 'dify/does-not-exist' }),
      });
      expectCleanFailure(
        result,
        'dify/denied for API_KEY (AccessDeniedException',
        'dify/does-not-exist for MAIL_PASSWORD (ResourceNotFoundException',
      );
    });

    test('a missing json key names the key and the env var', async () => {
      const result = await runLoader({ DIFY_EDGE_SECRETS: JSON.stringify({ DB_HOST: 'dify/db#host' }) });
      expectCleanFailure(result, "json key 'host'", 'DB_HOST', 'dify/db');
    });

    test('a json key on a secret that is not JSON says so', async () => {
      const result = await runLoader({ DIFY_EDGE_SECRETS: JSON.stringify({ SECRET_KEY: 'dify/secret-key#value' }) });
      expectCleanFailure(result, 'is not JSON', "json key 'value'", 'SECRET_KEY');
    });

    test('an unresolved template placeholder names the template and the placeholder', async () => {
      const result = await runLoader({
        DIFY_EDGE_SECRETS: JSON.stringify({ REDIS_PASSWORD: 'dify/redis#password' }),
        DIFY_EDGE_TEMPLATES: JSON.stringify({ CELERY_BROKER_URL: 'rediss://:${REDIS_PASSWORD}@${REDIS_HOST}:6379/1' }),
      });
      expectCleanFailure(result, 'DIFY_EDGE_TEMPLATES[CELERY_BROKER_URL]', '${REDIS_HOST}');
    });

    test('a malformed template placeholder is rejected', async () => {
      const result = await runLoader({ DIFY_EDGE_TEMPLATES: JSON.stringify({ URL: 'redis://${REDIS_HOST:6379' }) });
      expectCleanFailure(result, 'DIFY_EDGE_TEMPLATES[URL]', 'malformed placeholder');
    });

    test('an unreachable endpoint fails instead of hanging', async () => {
      const result = await runProcess('python3', [secretsLoaderPath, '--', 'python3', printerPath], {
        ...isolatedAwsEnvironment('http://127.0.0.1:9'),
        DIFY_EDGE_SECRETS: JSON.stringify({ SECRET_KEY: 'dify/secret-key' }),
      });
      expectCleanFailure(result, 'BatchGetSecretValue failed');
    });

    test('a missing -- separator is a usage error', async () => {
      const result = await runProcess('python3', [secretsLoaderPath, 'python3', printerPath], {
        ...isolatedAwsEnvironment(secretsManager.endpoint),
      });
      expectCleanFailure(result, "missing '--'");
    });
  });

  test('a command that cannot be exec-ed exits 127 with its name', async () => {
    const result = await runLoader({}, ['/nonexistent/dify-entrypoint']);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('cannot exec /nonexistent/dify-entrypoint');
  });
});
