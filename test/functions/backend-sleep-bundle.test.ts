/**
 * The backend sleep controller bundled the way lib/bundled-function.ts bundles it (esbuild, Node.js platform,
 * minified, the AWS SDK left to the runtime) and run in a separate Node.js process through its exported `handler`,
 * with the clients configured from the environment only, as in Lambda: the service-specific endpoint variables
 * (AWS SDKs and Tools Reference Guide, "Service-specific endpoints") point them at the local stand-ins.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ENVIRONMENT, LAST_USE_KEY } from '../../functions/backend-sleep/environment';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from '../containers/fake-secrets-manager';
import { startFakeCloudWatch, type FakeCloudWatch } from './fake-cloudwatch-server';
import { startFakeEcs, type FakeEcs } from './fake-ecs-server';
import { startFakeRedis, type FakeRedis } from './fake-redis-server';
import { fakeCredentials } from './local-server';

const ROOT = path.join(__dirname, '..', '..');
const TOKEN = 'bundle-test-token-0123456789abcdefghijklm';
const SECRET = { name: 'dify-shared', arn: secretArn('dify-shared') };

describe('the bundled backend sleep controller', () => {
  let dir: string;
  let redis: FakeRedis;
  let ecs: FakeEcs;
  let cloudWatch: FakeCloudWatch;
  let secrets: FakeSecretsManager;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-sleep-bundle-'));
    await build({
      entryPoints: [path.join(ROOT, 'functions/backend-sleep/index.ts')],
      outfile: path.join(dir, 'index.js'),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node24',
      minify: true,
      external: ['@aws-sdk/*'],
      logLevel: 'silent',
    });
    // The SDK resolves from the project's node_modules, as Lambda's Node.js runtime provides it.
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    [redis, ecs, cloudWatch, secrets] = await Promise.all([
      startFakeRedis({ password: TOKEN }),
      startFakeEcs(),
      startFakeCloudWatch(),
      startFakeSecretsManager([{ ...SECRET, secretString: JSON.stringify({ redisAuthToken: TOKEN }) }]),
    ]);
  });

  afterAll(async () => {
    await Promise.all([redis?.close(), ecs?.close(), cloudWatch?.close(), secrets?.close()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('bundles @redis/client in, and scales an idle service to 0 from its environment alone', async () => {
    const code = fs.readFileSync(path.join(dir, 'index.js'), 'utf8');
    expect(code).not.toMatch(/require\(["']@redis\/client["']\)/);
    ecs.services.set('dify-backend', {
      desiredCount: 1,
      runningCount: 1,
      pendingCount: 0,
      deployments: [{ status: 'PRIMARY', rolloutState: 'COMPLETED', updatedAt: 1_700_000_000 }],
    });
    redis.db(0).set(LAST_USE_KEY, String(Math.floor(Date.now() / 1000) - 3600));
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'ap-northeast-1',
      AWS_ACCESS_KEY_ID: fakeCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: fakeCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_ECS: ecs.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      [ENVIRONMENT.cluster]: 'dify-cluster',
      [ENVIRONMENT.service]: 'dify-backend',
      [ENVIRONMENT.mode]: 'idle',
      [ENVIRONMENT.idleMinutes]: '30',
      [ENVIRONMENT.days]: 'MON-FRI',
      [ENVIRONMENT.start]: '09:00',
      [ENVIRONMENT.end]: '18:00',
      [ENVIRONMENT.timeZone]: 'Asia/Tokyo',
      [ENVIRONMENT.redisHost]: redis.host,
      [ENVIRONMENT.redisPort]: String(redis.port),
      // Plain TCP to the stand-in; the template always sets true (test/stacks/backend-sleep.test.ts).
      [ENVIRONMENT.redisTls]: 'false',
      [ENVIRONMENT.redisSecretArn]: SECRET.arn,
      [ENVIRONMENT.redisSecretField]: 'redisAuthToken',
      [ENVIRONMENT.queues]: 'dataset,workflow_based_app_execution',
      [ENVIRONMENT.relayFunctionName]: 'dify-upload-relay',
    };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', "require('./index.js').handler().then((r) => console.log(JSON.stringify({ result: r })))"],
      { cwd: dir, env, timeout: 30_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ controller: 'backend-sleep', action: 'sleep', updated: true });
    expect(lines[1].result).toMatchObject({ action: 'sleep', updated: true });
    expect(ecs.callsTo('UpdateService').map((call) => call.body)).toEqual([
      { cluster: 'dify-cluster', service: 'dify-backend', desiredCount: 0 },
    ]);
    expect(cloudWatch.calls).toHaveLength(1);
    expect(redis.commandsNamed('AUTH')).toHaveLength(1);
  });
});
