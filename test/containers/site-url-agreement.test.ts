/**
 * The web and the api must name the CSRF cookie alike, or every console call after login is 401 ("CSRF token is
 * missing or invalid"). Both derive the name from the public site URL (test/support/dify-cookies.ts). This test runs
 * the real entry logic of both Lambda images, with the environments the stack synthesizes, against a local Secrets
 * Manager holding what the stack writes, and compares what each side ends up with.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DIFY_SECRET_FIELDS } from '../../lib/constructs/dify-secrets';
import { webImageContext } from '../../lib/web-image-context';
import { apiCsrfCookieName, webApiPrefix, webCsrfCookieName } from '../support/dify-cookies';
import { DIFY_REFERENCE, hasReference } from '../support/reference';
import { realisticResolver } from '../stacks/realistic-values';
import {
  CfnTemplate,
  container,
  functionByDescription,
  lambdaEnvironment,
  removeSynthOutputs,
  resourcesOfType,
  secretsOf,
  synthTemplates,
} from '../stacks/template-helpers';
import { startFakeSecretsManager, type FakeSecret, type FakeSecretsManager } from './fake-secrets-manager';
import {
  apiImageDirectory,
  isolatedAwsEnvironment,
  parsePrinted,
  removeDirectory,
  runProcess,
  writeEnvironmentPrinter,
} from './process-helpers';

const DISTRIBUTION_URL = 'https://d111111abcdef8.cloudfront.net';
const DOMAIN = { name: 'dify.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' };

let printer: { scriptPath: string; directory: string };
let stubDirectory: string;
let contextDirectory: string;

beforeAll(() => {
  printer = writeEnvironmentPrinter();
  contextDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-web-context-'));
  // A `node` first on PATH that runs our site-URL reader with the real node and stands in for Dify's
  // `exec node /app/web/server.js` by printing the environment the server would start with.
  stubDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-node-stub-'));
  fs.writeFileSync(
    path.join(stubDirectory, 'node'),
    `#!/bin/sh\ncase "$1" in *site-url.js) exec "${process.execPath}" "$@";; esac\nexec python3 ${printer.scriptPath} "$@"\n`,
    { mode: 0o755 },
  );
});

afterAll(() => {
  removeDirectory(printer.directory);
  removeDirectory(stubDirectory);
  removeDirectory(contextDirectory);
  removeSynthOutputs();
});

function imageFunction(template: CfnTemplate, description: string): Record<string, unknown> {
  return lambdaEnvironment(functionByDescription(template, description)[1]);
}

/** What Secrets Manager holds once the stack has run: the generated keys, the database secret and the site URL. */
function deployedSecrets(template: CfnTemplate, resolve: (value: unknown) => string, siteUrl: string): FakeSecret[] {
  return resourcesOfType(template, 'AWS::SecretsManager::Secret').map(([id, secret]) => {
    const arn = resolve({ Ref: id });
    const generated = secret.Properties?.GenerateSecretString as { SecretStringTemplate?: string } | undefined;
    const template = generated?.SecretStringTemplate ?? '';
    const secretString = template.includes('siteUrl')
      ? JSON.stringify({ siteUrl })
      : JSON.stringify({
          password: 'db-password-1',
          username: 'dify_admin',
          ...Object.fromEntries(
            Object.entries(DIFY_SECRET_FIELDS).map(([field, length]) => [field, 'k'.repeat(length)]),
          ),
        });
    return { name: arn.split(':secret:')[1].slice(0, -7), arn, secretString };
  });
}

async function runApiEntry(env: Record<string, string>, endpoint: string): Promise<Record<string, string>> {
  const result = await runProcess('bash', [path.join(apiImageDirectory, 'lambda-entrypoint.sh')], {
    ...env,
    ...isolatedAwsEnvironment(endpoint),
    DIFY_EDGE_NEXT: `python3 ${printer.scriptPath}`,
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return parsePrinted(result.stdout).env;
}

async function runWebEntry(env: Record<string, string>, endpoint: string) {
  const context = webImageContext(contextDirectory);
  // With Dify's own web entrypoint at hand, run it (its `node server.js` is the stub); otherwise the printer alone.
  const next = hasReference
    ? `/bin/sh ${path.join(DIFY_REFERENCE, 'web/docker/entrypoint.sh')}`
    : `python3 ${printer.scriptPath}`;
  return runProcess('sh', [path.join(context, 'lambda-entrypoint.sh')], {
    ...env,
    ...isolatedAwsEnvironment(endpoint),
    PATH: `${stubDirectory}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    DIFY_EDGE_NEXT: next,
  });
}

describe.each([
  ['no custom domain', {}, DISTRIBUTION_URL],
  ['a custom domain', { domain: DOMAIN }, `https://${DOMAIN.name}`],
])(
  'lambda hosting with %s: the web and the api agree on the console URL and the CSRF cookie',
  (_n, overrides, site) => {
    const { regional, synthesized } = synthTemplates(overrides);
    const resolve = realisticResolver(regional, synthesized.regional.stackName);
    const resolved = (env: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(env).map(([name, value]) => [name, resolve(value)]));
    let secretsManager: FakeSecretsManager;

    beforeAll(async () => {
      secretsManager = await startFakeSecretsManager(deployedSecrets(regional, resolve, site));
    });
    afterAll(() => secretsManager.close());

    test('same https console URL, same API prefix, same cookie name', async () => {
      const api = await runApiEntry(resolved(imageFunction(regional, 'Dify api')), secretsManager.endpoint);
      const webRun = await runWebEntry(resolved(imageFunction(regional, 'Dify web')), secretsManager.endpoint);
      // (On Node 20 the SDK adds a deprecation warning to stderr; dify-web 1.13.3 runs Node 22.)
      expect(webRun.stderr).not.toContain('dify-edge');
      expect(webRun.code).toBe(0);
      const web = parsePrinted(webRun.stdout).env;

      expect(api.CONSOLE_WEB_URL).toBe(site);
      expect(api.CONSOLE_API_URL).toBe(site);
      expect(web.CONSOLE_API_URL).toBe(site);
      expect(web.APP_API_URL).toBe(site);
      const prefix = hasReference ? web.NEXT_PUBLIC_API_PREFIX : webApiPrefix(web);
      expect(prefix).toBe(`${api.CONSOLE_API_URL}/console/api`);
      const webCookie = webCsrfCookieName({ ...web, NEXT_PUBLIC_API_PREFIX: prefix });
      expect(webCookie).toBe('__Host-csrf_token');
      expect(apiCsrfCookieName(api)).toBe(webCookie);
    });

    test('before the URL is written the web start fails (Lambda retries the init) instead of serving a wrong prefix', async () => {
      const webEnv = resolved(imageFunction(regional, 'Dify web'));
      const placeholder = await startFakeSecretsManager([
        {
          name: 'site',
          arn: webEnv.DIFY_EDGE_SITE_URL_SECRET,
          secretString: JSON.stringify({ siteUrl: '', placeholder: 'x' }),
        },
      ]);
      try {
        const run = await runWebEntry(webEnv, placeholder.endpoint);
        expect(run.code).toBe(1);
        expect(run.stdout).toBe('');
        expect(run.stderr).toContain('has no siteUrl yet');
      } finally {
        await placeholder.close();
      }
    });

    test('the check would catch the old mismatch: an empty web CONSOLE_API_URL names a different cookie', async () => {
      const api = await runApiEntry(resolved(imageFunction(regional, 'Dify api')), secretsManager.endpoint);
      expect(webCsrfCookieName({ NEXT_PUBLIC_API_PREFIX: webApiPrefix({ CONSOLE_API_URL: '' }) })).not.toBe(
        apiCsrfCookieName(api),
      );
    });
  },
);

describe('alb hosting: the web and api containers read the same site-URL field', () => {
  const { regional } = synthTemplates({ hosting: 'alb' });

  test('CONSOLE_API_URL of web and api come from one secret field, so the cookie rules agree', () => {
    const tasks = resourcesOfType(regional, 'AWS::ECS::TaskDefinition').map(([, task]) => task);
    const withContainer = (name: string) =>
      tasks.find((task) =>
        (task.Properties?.ContainerDefinitions as Array<{ Name: string }>).some((c) => c.Name === name),
      );
    const web = secretsOf(container(withContainer('web')!, 'web'));
    const api = secretsOf(container(withContainer('api')!, 'api'));
    expect(web.CONSOLE_API_URL).toEqual(api.CONSOLE_API_URL);
    expect(web.APP_API_URL).toEqual(api.CONSOLE_API_URL);
    expect(api.CONSOLE_WEB_URL).toEqual(api.CONSOLE_API_URL);
    // The custom resource that writes the distribution's URL into the secret (others, e.g. a prefix-list lookup, exist).
    const publishers = resourcesOfType(regional, 'Custom::AWS').filter(([, r]) =>
      JSON.stringify(r.Properties?.Create ?? '').includes('PutSecretValue'),
    );
    expect(publishers).toHaveLength(1);
    expect(JSON.stringify(web.CONSOLE_API_URL)).toContain(':siteUrl::');
    const env = { CONSOLE_WEB_URL: DISTRIBUTION_URL, CONSOLE_API_URL: DISTRIBUTION_URL };
    expect(webCsrfCookieName({ NEXT_PUBLIC_API_PREFIX: webApiPrefix(env) })).toBe(apiCsrfCookieName(env));
  });
});
