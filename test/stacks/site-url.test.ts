import { siteMarker } from '../../lib/dify-environment';
import {
  CfnTemplate,
  container,
  dependsOn,
  environmentOf,
  flatten,
  lambdaEnvironment,
  lambdaSecretRefs,
  onlyResource,
  propsOf,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  secretsOf,
  synthTemplates,
} from './template-helpers';
import { SITE_URL_SETTINGS } from './expected-settings';

afterAll(removeSynthOutputs);

/** The one secret whose placeholder template has a `siteUrl` field. */
function siteUrlSecretId(template: CfnTemplate): string {
  const found = resourcesOfType(template, 'AWS::SecretsManager::Secret').filter(([, r]) =>
    String(
      (propsOf(r).GenerateSecretString as { SecretStringTemplate?: string } | undefined)?.SecretStringTemplate,
    ).includes('siteUrl'),
  );
  expect(found).toHaveLength(1);
  return found[0][0];
}

/** The custom resource that writes the URL, with the SecretString it writes. */
function publisher(template: CfnTemplate): { id: string; create: string } {
  const [id, r] = onlyResource(template, 'Custom::AWS');
  return { id, create: flatten(propsOf(r).Create) };
}

describe('public site URL (lambda hosting, no custom domain)', () => {
  const { regional } = synthTemplates();
  const secretId = siteUrlSecretId(regional);

  test('the URL is written into the secret once the distribution exists: https://<distribution domain>', () => {
    const { create } = publisher(regional);
    const [distributionId] = onlyResource(regional, 'AWS::CloudFront::Distribution');
    expect(create).toContain('"action":"PutSecretValue"');
    expect(create).toContain(`<Ref:${secretId}>`);
    expect(create).toContain(`https://<GetAtt:${distributionId}.DomainName>`);
  });

  test('the api function reads every URL setting from that secret (an ARN reference, no value)', () => {
    const api = resourcesOfType(regional, 'AWS::Lambda::Function').find(
      ([, r]) => propsOf(r).PackageType === 'Image' && flatten(lambdaEnvironment(r).AWS_LWA_PORT) === '5001',
    );
    if (!api) throw new Error('no api function');
    const env = lambdaEnvironment(api[1]);
    const refs = lambdaSecretRefs(env);
    for (const name of SITE_URL_SETTINGS) {
      expect(refs[name]).toBe(`<Ref:${secretId}>#siteUrl`);
      expect(env[name]).toBeUndefined();
    }
    expect(env.INTERNAL_FILES_URL).toBe('http://localhost:5001');
  });

  test('backend containers get the URLs as ECS secrets and start only after the URL is written', () => {
    const [, service] = onlyResource(regional, 'AWS::ECS::Service');
    expect(dependsOn(service)).toContain(publisher(regional).id);
    const taskId = flatten(propsOf(service).TaskDefinition).replace(/^<Ref:(\w+)>$/, '$1');
    const task = resource(regional, taskId);
    for (const name of ['worker', 'run-worker', 'beat', 'internal-api']) {
      const secrets = secretsOf(container(task, name));
      for (const setting of SITE_URL_SETTINGS)
        expect(flatten(secrets[setting])).toContain(`<Ref:${secretId}>:siteUrl::`);
    }
    // File URLs signed for plugins point at the internal api in the same task; the background worker, which indexes
    // documents, writes the public FILES_URL into chunk image links instead (docs/adr/0013).
    expect(environmentOf(container(task, 'internal-api')).INTERNAL_FILES_URL).toBe('http://localhost:5001');
    expect(environmentOf(container(task, 'run-worker')).INTERNAL_FILES_URL).toBe('http://localhost:5001');
    expect(environmentOf(container(task, 'worker')).INTERNAL_FILES_URL).toBeUndefined();
  });
});

describe('public site URL with a custom domain', () => {
  test('the domain is written', () => {
    const { regional } = synthTemplates({
      domain: { name: 'dify.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
    });
    expect(publisher(regional).create).toContain('https://dify.example.com');
  });
});

describe('components that would cache the site URL start after it is written', () => {
  test('the keep-warm schedule waits for the URL write', () => {
    const { regional } = synthTemplates({ api: { keepWarm: true } });
    const [, schedule] = onlyResource(regional, 'AWS::Scheduler::Schedule');
    expect(dependsOn(schedule)).toContain(publisher(regional).id);
  });

  test('a custom domain is part of the containers’ settings, so changing it replaces tasks and api versions', () => {
    const { regional } = synthTemplates({
      domain: { name: 'dify.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
    });
    const [, service] = onlyResource(regional, 'AWS::ECS::Service');
    const task = resource(regional, flatten(propsOf(service).TaskDefinition).replace(/^<Ref:(\w+)>$/, '$1'));
    const marker = environmentOf(container(task, 'worker')).DIFY_EDGE_SITE_DOMAIN;
    expect(marker).toMatch(/^[0-9a-f]{16}$/);
    expect(marker).not.toBe(siteMarker('https://other.example.com'));
    expect(marker).toBe(siteMarker('https://dify.example.com'));
    const api = resourcesOfType(regional, 'AWS::Lambda::Function').find(
      ([, r]) => flatten(lambdaEnvironment(r).AWS_LWA_PORT) === '5001',
    );
    expect(api && lambdaEnvironment(api[1]).DIFY_EDGE_SITE_DOMAIN).toBe(marker);
  });
});
