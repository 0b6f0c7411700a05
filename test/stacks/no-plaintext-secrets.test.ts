import {
  CfnTemplate,
  ContainerDefinition,
  containersOf,
  environmentOf,
  flatten,
  lambdaEnvironment,
  lambdaSecretRefs,
  outputTarget,
  propsOf,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  secretsOf,
  stringLeaves,
  synthTemplates,
} from './template-helpers';
import { API_IMAGE_CREDENTIALS, API_IMAGE_SECRETS, BACKEND_ONLY_CREDENTIALS } from './expected-settings';
import { DockerImageAssetSource, dockerImageAssets, sourceImageOf } from './image-assets';

const SECRET_NAMES = [...API_IMAGE_CREDENTIALS, ...BACKEND_ONLY_CREDENTIALS];
const DYNAMIC_SECRET_REFERENCE = '{{resolve:secretsmanager:';

/**
 * A Secrets Manager reference as ECS or the api's loader takes it: a whole secret (`<Ref:Secret>`), or one JSON field
 * of it (ECS `<Ref:Attachment>:field::`, loader `<Ref:Attachment>#field`). Returns the referenced logical ID.
 */
function referencedSecret(text: string): string | undefined {
  return /^<Ref:(\w+)>(?:(?::\w+::)|(?:#\w+))?$/.exec(text)?.[1];
}

function isSecretResource(template: CfnTemplate, logicalId: string | undefined): boolean {
  if (!logicalId) return false;
  const type = template.Resources[logicalId]?.Type;
  return type === 'AWS::SecretsManager::Secret' || type === 'AWS::SecretsManager::SecretTargetAttachment';
}

function allContainers(template: CfnTemplate): ContainerDefinition[] {
  return resourcesOfType(template, 'AWS::ECS::TaskDefinition').flatMap(([, task]) => containersOf(task));
}

describe.each(['lambda', 'alb'])('no plaintext secrets (%s hosting)', (hosting) => {
  let regional: CfnTemplate;
  let edge: CfnTemplate;
  let assets: Map<string, DockerImageAssetSource>;

  beforeAll(() => {
    const synth = synthTemplates({ hosting });
    ({ regional, edge } = synth);
    assets = dockerImageAssets(synth.synthesized.app.outdir);
  });
  afterAll(removeSynthOutputs);

  test('no secret name is ever a plain key or an ECS environment entry anywhere in either template', () => {
    for (const template of [regional, edge]) {
      const text = JSON.stringify(template);
      for (const name of SECRET_NAMES) {
        // An unescaped "NAME": is an object key (a Lambda environment variable); escaped ones live inside the
        // DIFY_EDGE_SECRETS JSON string, which is checked separately below.
        expect({ name, asKey: new RegExp(`(?<!\\\\)"${name}"\\s*:`).test(text) }).toEqual({ name, asKey: false });
        expect({ name, asEnv: text.includes(`"Name":"${name}","Value"`) }).toEqual({ name, asEnv: false });
      }
    }
  });

  test('Lambda environments hold no secret names and no resolved secret values', () => {
    for (const template of [regional, edge]) {
      for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
        const env = lambdaEnvironment(fn);
        expect({ id, names: Object.keys(env).filter((name) => SECRET_NAMES.includes(name)) }).toEqual({
          id,
          names: [],
        });
        expect({ id, dynamic: JSON.stringify(env).includes(DYNAMIC_SECRET_REFERENCE) }).toEqual({ id, dynamic: false });
      }
    }
  });

  test('ECS containers receive every credential through Secrets, as Secrets Manager ARNs', () => {
    const containers = allContainers(regional);
    expect(containers.length).toBeGreaterThanOrEqual(6);
    for (const definition of containers) {
      const plain = Object.keys(environmentOf(definition)).filter((name) => SECRET_NAMES.includes(name));
      expect({ container: definition.Name, plain }).toEqual({ container: definition.Name, plain: [] });
      for (const [name, valueFrom] of Object.entries(secretsOf(definition))) {
        const target = referencedSecret(flatten(valueFrom));
        expect({ container: definition.Name, name, isSecret: isSecretResource(regional, target) }).toEqual({
          container: definition.Name,
          name,
          isSecret: true,
        });
      }
      if (sourceImageOf(definition.Image, assets, definition.Name).startsWith('langgenius/dify-api:')) {
        expect(Object.keys(secretsOf(definition))).toEqual(expect.arrayContaining(API_IMAGE_SECRETS));
      }
    }
  });

  test('Secrets Manager dynamic references appear only where CloudFormation needs them: AuthToken, MasterUserPassword and the relay origin header', () => {
    const places = new Set<string>();
    for (const template of [regional, edge]) {
      for (const leaf of stringLeaves(template)) {
        if (!leaf.value.includes(DYNAMIC_SECRET_REFERENCE)) continue;
        const [section, logicalId, properties, property] = leaf.path;
        expect({ section, properties }).toEqual({ section: 'Resources', properties: 'Properties' });
        places.add(`${template.Resources[logicalId]?.Type}.${property}`);
      }
    }
    // The distribution's only one is the upload relay's origin header (docs/adr/0016; test/stacks/upload-relay.test.ts).
    expect(places).toEqual(
      new Set([
        'AWS::ElastiCache::ReplicationGroup.AuthToken',
        'AWS::RDS::DBCluster.MasterUserPassword',
        ...(hosting === 'lambda' ? ['AWS::CloudFront::Distribution.DistributionConfig'] : []),
      ]),
    );
  });

  test('no secret resource carries its value in the template', () => {
    const secrets = resourcesOfType(regional, 'AWS::SecretsManager::Secret');
    // Dify's keys (one secret, a field each), the database credentials and the site URL.
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const [id, secret] of secrets) {
      expect({ id, literal: propsOf(secret).SecretString }).toEqual({ id, literal: undefined });
      expect(propsOf(secret).GenerateSecretString).toBeDefined();
    }
  });

  if (hosting === 'lambda') {
    test('the api function gets its credentials only as ARNs inside DIFY_EDGE_SECRETS', () => {
      const env = lambdaEnvironment(resource(regional, outputTarget(regional, 'ApiFunctionName')));
      const refs = lambdaSecretRefs(env);
      expect(Object.keys(refs).sort()).toEqual([...API_IMAGE_SECRETS].sort());
      for (const [name, ref] of Object.entries(refs)) {
        expect({ name, isSecret: isSecretResource(regional, referencedSecret(ref)) }).toEqual({ name, isSecret: true });
      }
      // Values composed from secrets are expanded in the function at start-up, from placeholders.
      const templates = flatten(env.DIFY_EDGE_TEMPLATES);
      expect(templates).toContain('$REDIS_PASSWORD');
      expect(templates).not.toContain(DYNAMIC_SECRET_REFERENCE);
    });
  }
});
