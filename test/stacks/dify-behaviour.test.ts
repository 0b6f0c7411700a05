/**
 * Template-level checks of what Dify 1.13.3 needs from this deployment beyond its data layer: worker capacity for
 * streaming runs, one beat at a time, keep-warm pings Dify answers with 200, the web's site URL, and the origin read
 * timeout for blocking calls.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { KEEP_WARM_PATH } from '../../lib/constructs/api-function';
import {
  BACKGROUND_QUEUES,
  BACKGROUND_WORKER_CONCURRENCY,
  DIFY_DEFAULT_QUEUES,
  RUN_QUEUES,
  RUN_WORKER_CONCURRENCY,
} from '../../lib/constructs/backend-service';
import { ConfigError } from '../../lib/config';
import { synthDifyApp } from '../support/synth';
import {
  CfnTemplate,
  asArray,
  at,
  container,
  environmentOf,
  flatten,
  functionByDescription,
  isRecord,
  lambdaEnvironment,
  onlyResource,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

afterAll(removeSynthOutputs);

function backendTask(template: CfnTemplate) {
  const service = resource(template, outputTarget(template, 'BackendServiceName'));
  return { service, task: resource(template, refId(propsOf(service).TaskDefinition) ?? '') };
}

function imageFunction(template: CfnTemplate, description: string): [string, Record<string, unknown>] {
  const [id, fn] = functionByDescription(template, description);
  return [id, propsOf(fn)];
}

function originReadTimeouts(template: CfnTemplate): number[] {
  const [, distribution] = onlyResource(template, 'AWS::CloudFront::Distribution');
  return asArray(at(propsOf(distribution), 'DistributionConfig', 'Origins')).map(
    (origin) =>
      (at(origin, 'CustomOriginConfig', 'OriginReadTimeout') ??
        at(origin, 'VpcOriginConfig', 'OriginReadTimeout')) as number,
  );
}

describe('default configuration', () => {
  const { regional } = synthTemplates();
  const { service, task } = backendTask(regional);

  test('streaming runs get their own worker (16 at once); indexing and the rest share another (4)', () => {
    const run = environmentOf(container(task, 'run-worker'));
    const background = environmentOf(container(task, 'worker'));
    expect(run).toMatchObject({
      MODE: 'worker',
      CELERY_WORKER_QUEUES: 'workflow_based_app_execution',
      CELERY_WORKER_AMOUNT: String(RUN_WORKER_CONCURRENCY),
      CELERY_AUTO_SCALE: 'false',
      CELERY_WORKER_CLASS: 'gevent',
    });
    expect(RUN_WORKER_CONCURRENCY).toBe(16);
    expect(background).toMatchObject({
      MODE: 'worker',
      CELERY_WORKER_QUEUES: BACKGROUND_QUEUES.join(','),
      CELERY_WORKER_AMOUNT: String(BACKGROUND_WORKER_CONCURRENCY),
    });
    const consumed = [
      ...String(run.CELERY_WORKER_QUEUES).split(','),
      ...String(background.CELERY_WORKER_QUEUES).split(','),
    ];
    expect(consumed.sort()).toEqual([...DIFY_DEFAULT_QUEUES].sort());
    expect(new Set(consumed).size).toBe(consumed.length);
    expect(RUN_QUEUES).toEqual(['workflow_based_app_execution']);
  });

  test('never two backend tasks at once, so never two Celery beats', () => {
    expect(propsOf(service).DeploymentConfiguration).toMatchObject({ MinimumHealthyPercent: 0, MaximumPercent: 100 });
    // With backend sleep on (the default) DesiredCount is left out: CloudFormation creates the service with 1, and
    // only the sleep controller and the wake calls change it, to 0 or 1 (test/stacks/backend-sleep.test.ts).
    expect(propsOf(service).DesiredCount).toBeUndefined();
  });

  test('the web function reads the site URL from the site-URL secret, and only that secret', () => {
    const [, web] = imageFunction(regional, 'Dify web');
    const env = lambdaEnvironment({ Type: 'AWS::Lambda::Function', Properties: web });
    const secretId = refId(env.DIFY_EDGE_SITE_URL_SECRET) ?? '';
    expect(resource(regional, secretId).Type).toBe('AWS::SecretsManager::Secret');
    expect(env.CONSOLE_API_URL).toBeUndefined();
    const roleId = (at(web, 'Role', 'Fn::GetAtt') as string[])[0];
    const statements = resourcesOfType(regional, 'AWS::IAM::Policy')
      .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === roleId))
      .flatMap(([, policy]) => asArray(at(propsOf(policy), 'PolicyDocument', 'Statement')))
      .filter(isRecord);
    const secretReads = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secretReads.map((s) => refId(s.Resource))).toEqual([secretId]);
  });

  test('the api function closes what Dify leaves open by default, and passes no setting Dify does not read', () => {
    const [, api] = imageFunction(regional, 'Dify api');
    const env = lambdaEnvironment({ Type: 'AWS::Lambda::Function', Properties: api });
    expect(env).toMatchObject({ SWAGGER_UI_ENABLED: 'false', CHECK_UPDATE_URL: '', PGSSLMODE: 'require' });
    expect(env.ENABLE_COLLABORATION_MODE).toBeUndefined();
    // Files signed here go to plugins in the backend task (docs/adr/0013).
    expect(env.INTERNAL_FILES_URL).toBe('http://localhost:5001');
  });

  test('the web function sets no pm2 settings (dify-web 1.13.3 runs `node server.js`)', () => {
    const [, web] = imageFunction(regional, 'Dify web');
    const env = lambdaEnvironment({ Type: 'AWS::Lambda::Function', Properties: web });
    expect(Object.keys(env).filter((name) => /PM2/.test(name))).toEqual([]);
  });

  test('every origin (api, web and any other) waits 60 s, the most CloudFront allows without a quota increase', () => {
    const timeouts = originReadTimeouts(regional);
    expect(timeouts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(timeouts)).toEqual(new Set([60]));
  });
});

describe('keep-warm pings', () => {
  const { regional } = synthTemplates({ api: { keepWarm: true } });

  test('are function URL requests for GET /health, which Dify answers 200 (no POST to a pass-through path)', () => {
    const [, schedule] = onlyResource(regional, 'AWS::Scheduler::Schedule');
    const input = JSON.parse(String(at(propsOf(schedule), 'Target', 'Input'))) as Record<string, unknown>;
    expect(input).toMatchObject({
      version: '2.0',
      rawPath: KEEP_WARM_PATH,
      rawQueryString: '',
      isBase64Encoded: false,
      requestContext: { http: { method: 'GET', path: '/health' } },
    });
    expect(input.body).toBeUndefined();
    const [, api] = imageFunction(regional, 'Dify api');
    const env = lambdaEnvironment({ Type: 'AWS::Lambda::Function', Properties: api });
    expect(env.AWS_LWA_PASS_THROUGH_PATH).toBeUndefined();
    expect(flatten(env.AWS_LWA_READINESS_CHECK_PATH)).toBe('/health');
  });
});

describe('api.originReadTimeoutSeconds', () => {
  test('a longer timeout applies to the api origin and warns about the CloudFront quota at synth', () => {
    const app = synthDifyApp({ api: { originReadTimeoutSeconds: 120 } });
    expect(Math.max(...originReadTimeouts(app.regionalTemplate.toJSON() as CfnTemplate))).toBe(120);
    Annotations.fromStack(app.regional).hasWarning('*', Match.stringLikeRegexp('Response timeout per origin'));
  });

  test('applies to the load balancer origin in alb mode', () => {
    const { regional } = synthTemplates({ hosting: 'alb', api: { originReadTimeoutSeconds: 90 } });
    expect(originReadTimeouts(regional)).toEqual([90]);
  });

  test('values CloudFront never accepts are rejected at synth, naming the setting', () => {
    expect(() => synthDifyApp({ api: { originReadTimeoutSeconds: 181 } })).toThrow(ConfigError);
    expect(() => synthDifyApp({ api: { originReadTimeoutSeconds: 181 } })).toThrow(
      /api\.originReadTimeoutSeconds: 181 is not allowed; expected an integer from 1 to 180/,
    );
  });
});
