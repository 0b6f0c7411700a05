import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager';
import {
  apiImageDirectory,
  isolatedAwsEnvironment,
  parsePrinted,
  removeDirectory,
  runProcess,
  webImageDirectory,
  writeEnvironmentPrinter,
} from './process-helpers';

const apiEntrypoint = join(apiImageDirectory, 'lambda-entrypoint.sh');
const webEntrypoint = join(webImageDirectory, 'lambda-entrypoint.sh');
const databasePassword = 'entry-db-password-7781';

let secretsManager: FakeSecretsManager;
let printerPath: string;
let printerDirectory: string;

beforeAll(async () => {
  secretsManager = await startFakeSecretsManager([
    { name: 'dify/db', arn: secretArn('dify/db'), secretString: JSON.stringify({ password: databasePassword }) },
  ]);
  ({ scriptPath: printerPath, directory: printerDirectory } = writeEnvironmentPrinter());
});

afterAll(async () => {
  await secretsManager.close();
  removeDirectory(printerDirectory);
});

beforeEach(() => {
  secretsManager.calls.length = 0;
});

describe('api lambda-entrypoint.sh (run with bash, Dify entrypoint replaced by an env printer)', () => {
  test('points writable paths at /tmp, forces MIGRATION_ENABLED=false, loads secrets and passes args on', async () => {
    const result = await runProcess('bash', [apiEntrypoint, 'job-arg'], {
      ...isolatedAwsEnvironment(secretsManager.endpoint),
      HOME: '/root',
      MIGRATION_ENABLED: 'true',
      DIFY_EDGE_NEXT: `python3 ${printerPath} --from-next`,
      DIFY_EDGE_SECRETS: JSON.stringify({ DB_PASSWORD: 'dify/db#password' }),
      DIFY_EDGE_TEMPLATES: JSON.stringify({ SQLALCHEMY_URL: 'postgresql://dify:${DB_PASSWORD|url}@db:5432/dify' }),
    });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { env, argv } = parsePrinted(result.stdout);
    expect(env.HOME).toBe('/tmp');
    expect(env.TMPDIR).toBe('/tmp');
    for (const cacheVariable of [
      'MPLCONFIGDIR',
      'HF_HOME',
      'TRANSFORMERS_CACHE',
      'XDG_CACHE_HOME',
      'TIKTOKEN_CACHE_DIR',
    ]) {
      expect(env[cacheVariable]).toMatch(/^\/tmp\//);
    }
    expect(env.PYTHONDONTWRITEBYTECODE).toBe('1');
    expect(env.MIGRATION_ENABLED).toBe('false');
    expect(env.DB_PASSWORD).toBe(databasePassword);
    expect(env.SQLALCHEMY_URL).toBe(`postgresql://dify:${databasePassword}@db:5432/dify`);
    expect(argv).toEqual(['--from-next', 'job-arg']);
    expect(secretsManager.calls).toHaveLength(1);
  });

  test("keeps the image's prebuilt TIKTOKEN_CACHE_DIR instead of moving it to /tmp", async () => {
    const result = await runProcess('bash', [apiEntrypoint], {
      ...isolatedAwsEnvironment(secretsManager.endpoint),
      TIKTOKEN_CACHE_DIR: '/app/api/.tiktoken_cache',
      DIFY_EDGE_NEXT: `python3 ${printerPath}`,
    });
    expect(result.code).toBe(0);
    expect(parsePrinted(result.stdout).env.TIKTOKEN_CACHE_DIR).toBe('/app/api/.tiktoken_cache');
    expect(secretsManager.calls).toHaveLength(0);
  });

  test('a secrets failure stops the start with exit 1 before the next command runs', async () => {
    const result = await runProcess('bash', [apiEntrypoint], {
      ...isolatedAwsEnvironment(secretsManager.endpoint),
      DIFY_EDGE_NEXT: `python3 ${printerPath}`,
      DIFY_EDGE_SECRETS: JSON.stringify({ DB_PASSWORD: 'dify/db#missing-key' }),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("json key 'missing-key'");
    expect(result.stderr).not.toContain(databasePassword);
  });

  test('without DIFY_EDGE_NEXT it hands over to Dify entrypoint /entrypoint.sh via bash', async () => {
    // /entrypoint.sh does not exist on this machine, so bash itself reports it: proof of the default.
    const result = await runProcess('bash', [apiEntrypoint], { ...isolatedAwsEnvironment(secretsManager.endpoint) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('/entrypoint.sh');
  });
});

describe('web lambda-entrypoint.sh (run with POSIX sh, Dify entrypoint replaced by an env printer)', () => {
  test('points HOME at /tmp, listens on all interfaces, creates the Next.js cache target, sets no pm2 settings', async () => {
    const result = await runProcess('sh', [webEntrypoint, 'web-arg'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/home/dify',
      HOSTNAME: 'container-hostname',
      DIFY_EDGE_NEXT: `python3 ${printerPath}`,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { env, argv } = parsePrinted(result.stdout);
    expect(env.HOME).toBe('/tmp');
    expect(env.HOSTNAME).toBe('0.0.0.0');
    // dify-web 1.13.3 starts `node server.js` directly (web/docker/entrypoint.sh): pm2 settings would be dead.
    expect(Object.keys(env).filter((name) => name.startsWith('PM2_'))).toEqual([]);
    expect(argv).toEqual(['web-arg']);
    expect(existsSync('/tmp/next-cache') && statSync('/tmp/next-cache').isDirectory()).toBe(true);
    // Without a site-URL secret (a local run) nothing is fetched and the URLs stay as given.
    expect(env.CONSOLE_API_URL).toBeUndefined();
  });

  test("without DIFY_EDGE_NEXT it hands over to Dify's /app/web/entrypoint.sh", async () => {
    const result = await runProcess('sh', [webEntrypoint], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('/app/web/entrypoint.sh');
  });
});
