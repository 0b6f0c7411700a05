import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONFIG } from '../../lib/config';
import { CELERY_WORKER_COMMAND, CELERY_WORKER_EXPORTS } from '../../lib/constructs/celery-worker-command';
import {
  CfnResource,
  CfnTemplate,
  ContainerDefinition,
  SynthesizedTemplates,
  asArray,
  at,
  container,
  containersOf,
  dependsOn,
  environmentOf,
  flatten,
  functionByDescription,
  getAtt,
  ingressRulesOf,
  isRecord,
  lambdaEnvironment,
  onlyResource,
  onlySecurityGroup,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  secretsOf,
  synthTemplates,
} from './template-helpers';
import { API_IMAGE_SECRETS } from './expected-settings';
import { DockerImageAssetSource, dockerImageAssets, imageUri, sourceImageOf } from './image-assets';

const BACKEND_CONTAINERS = ['sandbox', 'plugin-daemon', 'internal-api', 'worker', 'run-worker', 'beat'];
const API_IMAGE_CONTAINERS = ['internal-api', 'worker', 'run-worker', 'beat'];
const CELERY_WORKER_CONTAINERS = ['worker', 'run-worker'];
/** Containers whose signed file URLs go to plugins in the same task (docs/adr/0013). */
const SIGNS_PLUGIN_FILE_URLS = ['internal-api', 'run-worker'];

interface BackendView {
  readonly template: CfnTemplate;
  readonly serviceId: string;
  readonly service: CfnResource;
  readonly taskDefinition: CfnResource;
  readonly migrationId: string;
  readonly migration: CfnResource;
  readonly migrationTask: CfnResource;
}

function backendView(template: CfnTemplate): BackendView {
  const serviceId = outputTarget(template, 'BackendServiceName');
  const service = resource(template, serviceId);
  const taskDefinition = resource(template, refId(propsOf(service).TaskDefinition) ?? '');
  const [migrationId, migration] = onlyResource(template, 'Custom::DifyDatabaseMigration');
  const migrationTask = resource(template, refId(propsOf(migration).TaskDefinitionArn) ?? '');
  return { template, serviceId, service, taskDefinition, migrationId, migration, migrationTask };
}

/** The secret a container secret reads, as `logicalId` or `logicalId:field` (for JSON fields of a secret). */
function secretSource(valueFrom: unknown): string {
  const whole = refId(valueFrom);
  if (whole) return whole;
  const field = /^<Ref:(\w+)>:(\w+)::$/.exec(flatten(valueFrom));
  if (!field) throw new Error(`not a Secrets Manager reference: ${JSON.stringify(valueFrom)}`);
  return `${field[1]}:${field[2]}`;
}

let assets: Map<string, DockerImageAssetSource>;

/** The public image a container's ECR copy was built from. */
function imageOf(definition: ContainerDefinition): string {
  return sourceImageOf(definition.Image, assets, definition.Name);
}

describe('backend on Fargate Spot (default configuration)', () => {
  let synth: SynthesizedTemplates;
  let regional: CfnTemplate;
  let view: BackendView;
  let bucketId: string;

  beforeAll(() => {
    synth = synthTemplates();
    regional = synth.regional;
    assets = dockerImageAssets(synth.synthesized.app.outdir);
    view = backendView(regional);
    bucketId = outputTarget(regional, 'BucketName');
  });
  afterAll(removeSynthOutputs);

  test('the cluster offers FARGATE and FARGATE_SPOT; the backend service runs on Spot only', () => {
    const [, associations] = onlyResource(regional, 'AWS::ECS::ClusterCapacityProviderAssociations');
    expect(new Set(asArray(propsOf(associations).CapacityProviders))).toEqual(new Set(['FARGATE', 'FARGATE_SPOT']));
    expect(propsOf(view.service).CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    expect(propsOf(view.service).LaunchType).toBeUndefined();
  });

  test('one task definition holds sandbox, plugin daemon, internal api, worker and beat', () => {
    expect(
      containersOf(view.taskDefinition)
        .map((c) => c.Name)
        .sort(),
    ).toEqual([...BACKEND_CONTAINERS].sort());
    expect(propsOf(view.taskDefinition).RequiresCompatibilities).toEqual(['FARGATE']);
  });

  test('no task pulls from Docker Hub: every image is an ECR copy (an image asset) of a pinned tag', () => {
    for (const [id, task] of resourcesOfType(regional, 'AWS::ECS::TaskDefinition')) {
      for (const definition of containersOf(task)) {
        const uri = imageUri(definition.Image);
        expect({ id, name: definition.Name, uri }).toEqual({
          id,
          name: definition.Name,
          uri: expect.stringMatching(
            /^\$\{AWS::AccountId\}\.dkr\.ecr\.ap-northeast-1\.\$\{AWS::URLSuffix\}\/cdk-\w+-container-assets-\$\{AWS::AccountId\}-ap-northeast-1:[0-9a-f]{64}$/,
          ),
        });
        expect(imageOf(definition)).toMatch(/^langgenius\/dify-[a-z-]+:(?!latest)[\w.-]+$/);
      }
    }
  });

  test('images are pinned: dify-api at difyVersion, plugin daemon and sandbox at their configured tags', () => {
    for (const name of API_IMAGE_CONTAINERS) {
      expect(imageOf(container(view.taskDefinition, name))).toBe(`langgenius/dify-api:${DEFAULT_CONFIG.difyVersion}`);
    }
    expect(imageOf(container(view.taskDefinition, 'plugin-daemon'))).toBe(
      `langgenius/dify-plugin-daemon:${DEFAULT_CONFIG.pluginDaemonVersion}`,
    );
    expect(imageOf(container(view.taskDefinition, 'sandbox'))).toBe(
      `langgenius/dify-sandbox:${DEFAULT_CONFIG.sandboxVersion}`,
    );
    expect(imageOf(container(view.migrationTask, 'migration'))).toBe(
      `langgenius/dify-api:${DEFAULT_CONFIG.difyVersion}`,
    );
  });

  test('every container gets 120 s to stop (Spot warning), a health check and awslogs with a retention', () => {
    for (const definition of containersOf(view.taskDefinition)) {
      expect({ name: definition.Name, stopTimeout: definition.StopTimeout }).toEqual({
        name: definition.Name,
        stopTimeout: 120,
      });
      expect(definition.HealthCheck?.Command?.[0]).toBe('CMD-SHELL');
      expect(definition.LogConfiguration?.LogDriver).toBe('awslogs');
      const group = resource(regional, refId(definition.LogConfiguration?.Options?.['awslogs-group']) ?? '');
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(propsOf(group).RetentionInDays).toEqual(expect.any(Number));
    }
  });

  test('worker, beat and internal api run the api image in their own MODE', () => {
    expect(environmentOf(container(view.taskDefinition, 'worker')).MODE).toBe('worker');
    expect(environmentOf(container(view.taskDefinition, 'beat')).MODE).toBe('beat');
    expect(environmentOf(container(view.taskDefinition, 'internal-api')).MODE).toBe('api');
  });

  test('every api-image container (and the migration) has the data-layer settings and talks to localhost', () => {
    const [clusterId] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const [cacheId] = onlyResource(regional, 'AWS::ElastiCache::ReplicationGroup');
    const definitions = [
      ...API_IMAGE_CONTAINERS.map((name) => container(view.taskDefinition, name)),
      container(view.migrationTask, 'migration'),
    ];
    for (const definition of definitions) {
      const env = environmentOf(definition);
      expect(env).toMatchObject({
        DB_USERNAME: expect.any(String),
        // Dify's pgvector default port is 5433 (api/configs/middleware/vdb/pgvector_config.py): it must be set.
        PGVECTOR_PORT: '5432',
        PGVECTOR_DATABASE: 'dify_pgvector',
        PGVECTOR_USER: env.DB_USERNAME,
        // libpq's default for the pgvector connections, which pass no sslmode of their own.
        PGSSLMODE: 'require',
        SWAGGER_UI_ENABLED: 'false',
        CHECK_UPDATE_URL: '',
        REDIS_USE_SSL: 'true',
        // Dify only recognises the upper-case name; anything else silently means CERT_NONE.
        REDIS_SSL_CERT_REQS: 'CERT_REQUIRED',
        DB_EXTRAS: 'sslmode=require',
        PLUGIN_MAX_PACKAGE_SIZE: '52428800',
        STORAGE_TYPE: 's3',
        S3_REGION: 'ap-northeast-1',
        S3_USE_AWS_MANAGED_IAM: 'true',
        VECTOR_STORE: 'pgvector',
        MIGRATION_ENABLED: 'false',
        CODE_EXECUTION_ENDPOINT: 'http://localhost:8194',
        PLUGIN_DAEMON_URL: 'http://localhost:5002',
      });
      // Left to Dify's defaults, which equal ours (lib/dify-defaults.ts, checked against Dify's sources).
      for (const name of ['DB_PORT', 'DB_DATABASE', 'REDIS_PORT', 'REDIS_DB', 'DB_TYPE']) {
        expect(env[name]).toBeUndefined();
      }
      expect(env.ENABLE_COLLABORATION_MODE).toBeUndefined();
      expect(env.INTERNAL_FILES_URL).toBe(
        SIGNS_PLUGIN_FILE_URLS.includes(definition.Name) ? 'http://localhost:5001' : undefined,
      );
      expect(getAtt(env.DB_HOST)).toEqual([clusterId, 'Endpoint.Address']);
      // PGVECTOR_HOST is composed from DB_HOST in the container (see the entry command test).
      expect(env.PGVECTOR_HOST).toBeUndefined();
      expect(getAtt(env.REDIS_HOST)).toEqual([cacheId, 'PrimaryEndPoint.Address']);
      expect(refId(env.S3_BUCKET_NAME)).toBe(bucketId);
      expect(Object.keys(secretsOf(definition)).sort()).toEqual([...API_IMAGE_SECRETS].sort());
    }
  });

  test('the Celery broker URL is composed in the container from the injected Redis password, then Dify starts', () => {
    const templates =
      'export CELERY_BROKER_URL="rediss://:$REDIS_PASSWORD@$REDIS_HOST:6379/1?ssl_cert_reqs=required"; ' +
      'export PGVECTOR_HOST="$DB_HOST"; export ENDPOINT_URL_TEMPLATE="$CONSOLE_API_URL/e/{hook_id}"; ';
    for (const name of API_IMAGE_CONTAINERS) {
      const definition = container(view.taskDefinition, name);
      expect(definition.EntryPoint).toEqual(['/bin/bash', '-c']);
      const command = asArray(definition.Command);
      expect(command).toHaveLength(1);
      // The Celery workers start the way Dify's worker mode does, with the running-task hook's app
      // (test/containers/worker-activity.test.ts runs this command); the others through Dify's entrypoint.
      expect(flatten(command[0])).toBe(
        CELERY_WORKER_CONTAINERS.includes(name)
          ? `${templates}${Object.entries(CELERY_WORKER_EXPORTS)
              .map(([variable, value]) => `export ${variable}="${value}"; `)
              .join('')}exec ${CELERY_WORKER_COMMAND}`
          : `${templates}exec /bin/bash /entrypoint.sh`,
      );
    }
  });

  test('the Celery workers run the worker image (Dify api plus the hook), the other api-image containers Dify api', () => {
    const workerImage = imageUri(container(view.taskDefinition, 'worker').Image);
    expect(imageUri(container(view.taskDefinition, 'run-worker').Image)).toBe(workerImage);
    for (const name of API_IMAGE_CONTAINERS.filter((n) => !CELERY_WORKER_CONTAINERS.includes(n))) {
      expect(imageUri(container(view.taskDefinition, name).Image)).not.toBe(workerImage);
    }
    const source = assets.get(workerImage.slice(workerImage.lastIndexOf(':') + 1));
    expect(source?.buildArgs).toEqual({ DIFY_VERSION: DEFAULT_CONFIG.difyVersion });
  });

  test('the plugin daemon has its own database, S3 storage in the Dify bucket and calls the internal api back', () => {
    const daemon = container(view.taskDefinition, 'plugin-daemon');
    const env = environmentOf(daemon);
    expect(env).toMatchObject({
      DB_DATABASE: 'dify_plugin',
      PLUGIN_STORAGE_TYPE: 'aws_s3',
      S3_USE_AWS_MANAGED_IAM: 'true',
      DIFY_INNER_API_URL: 'http://localhost:5001',
    });
    expect(refId(env.PLUGIN_STORAGE_OSS_BUCKET)).toBe(bucketId);
    expect(Object.keys(secretsOf(daemon))).toEqual(expect.arrayContaining(['SERVER_KEY', 'DIFY_INNER_API_KEY']));
  });

  test('shared keys come from the same secret on both sides', () => {
    const api = secretsOf(container(view.taskDefinition, 'internal-api'));
    const daemon = secretsOf(container(view.taskDefinition, 'plugin-daemon'));
    const sandbox = secretsOf(container(view.taskDefinition, 'sandbox'));
    expect(secretSource(daemon.SERVER_KEY)).toBe(secretSource(api.PLUGIN_DAEMON_KEY));
    expect(secretSource(daemon.DIFY_INNER_API_KEY)).toBe(secretSource(api.INNER_API_KEY_FOR_PLUGIN));
    expect(secretSource(sandbox.API_KEY)).toBe(secretSource(api.CODE_EXECUTION_API_KEY));
    // Distinct keys must not collapse into one secret.
    const distinct = [
      'SECRET_KEY',
      'REDIS_PASSWORD',
      'CODE_EXECUTION_API_KEY',
      'PLUGIN_DAEMON_KEY',
      'INNER_API_KEY_FOR_PLUGIN',
      'INIT_PASSWORD',
    ];
    expect(new Set(distinct.map((name) => secretSource(api[name]))).size).toBe(distinct.length);
    expect(secretSource(api.DB_PASSWORD)).toMatch(/:password$/);
    // One secret for all of Dify's keys, a field each (Secrets Manager bills per secret).
    expect(new Set(distinct.map((name) => secretSource(api[name]).split(':')[0])).size).toBe(1);
    for (const name of distinct) {
      expect(resource(regional, secretSource(api[name]).split(':')[0]).Type).toBe('AWS::SecretsManager::Secret');
    }
  });

  test('the backend registers as backend.dify.internal (A record) in a private namespace', () => {
    const [namespaceId, namespace] = onlyResource(regional, 'AWS::ServiceDiscovery::PrivateDnsNamespace');
    expect(propsOf(namespace).Name).toBe('dify.internal');
    const registries = asArray(propsOf(view.service).ServiceRegistries);
    expect(registries).toHaveLength(1);
    const [discoveryId, attribute] = getAtt(at(registries[0], 'RegistryArn')) ?? ['', ''];
    expect(attribute).toBe('Arn');
    const discovery = propsOf(resource(regional, discoveryId));
    expect(discovery.Name).toBe('backend');
    expect(getAtt(discovery.NamespaceId)).toEqual([namespaceId, 'Id']);
    expect(at(discovery, 'DnsConfig', 'DnsRecords')).toEqual([expect.objectContaining({ Type: 'A' })]);
  });

  test('only the api function (sandbox, plugin daemon) and the upload relay (plugin daemon) reach the backend', () => {
    const backendSg = onlySecurityGroup(
      at(propsOf(view.service), 'NetworkConfiguration', 'AwsvpcConfiguration', 'SecurityGroups'),
    );
    const apiFunction = resource(regional, outputTarget(regional, 'ApiFunctionName'));
    const apiSg = onlySecurityGroup(at(propsOf(apiFunction), 'VpcConfig', 'SecurityGroupIds'));
    const [relayFunctionId] = functionByDescription(regional, 'Dify upload relay');
    const relaySg = onlySecurityGroup(
      at(propsOf(resource(regional, relayFunctionId)), 'VpcConfig', 'SecurityGroupIds'),
    );
    const ingress = ingressRulesOf(regional, backendSg);
    expect(ingress).toHaveLength(3);
    const rule = (port: number, sourceGroup: string) =>
      JSON.stringify({ protocol: 'tcp', fromPort: port, toPort: port, sourceGroup, cidr: undefined });
    expect(new Set(ingress.map((r) => JSON.stringify(r)))).toEqual(
      new Set([rule(8194, apiSg), rule(5002, apiSg), rule(5002, relaySg)]),
    );
    expect(at(propsOf(view.service), 'NetworkConfiguration', 'AwsvpcConfiguration', 'AssignPublicIp')).toBe('DISABLED');
  });

  test('PostgreSQL and Valkey accept the api function and the backend task on their ports (Valkey also the sleep controller)', () => {
    const backendSg = onlySecurityGroup(
      at(propsOf(view.service), 'NetworkConfiguration', 'AwsvpcConfiguration', 'SecurityGroups'),
    );
    const apiSg = onlySecurityGroup(
      at(propsOf(resource(regional, outputTarget(regional, 'ApiFunctionName'))), 'VpcConfig', 'SecurityGroupIds'),
    );
    // The backend sleep controller reads last use, running tasks and Celery's queues (docs/adr/0018).
    const sleepSg = onlySecurityGroup(
      at(propsOf(functionByDescription(regional, 'Dify backend sleep controller')[1]), 'VpcConfig', 'SecurityGroupIds'),
    );
    const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
    const [, cache] = onlyResource(regional, 'AWS::ElastiCache::ReplicationGroup');
    const checks: Array<[string, number, string[]]> = [
      [onlySecurityGroup(propsOf(cluster).VpcSecurityGroupIds), 5432, [apiSg, backendSg]],
      [onlySecurityGroup(propsOf(cache).SecurityGroupIds), 6379, [apiSg, backendSg, sleepSg]],
    ];
    for (const [groupId, port, expected] of checks) {
      const sources = ingressRulesOf(regional, groupId)
        .filter((rule) => rule.protocol === 'tcp' && rule.fromPort === port && rule.toPort === port)
        .map((rule) => rule.sourceGroup);
      expect(new Set(sources)).toEqual(new Set(expected));
    }
  });

  test('the migration custom resource runs `flask upgrade-db` once per image tag and says where its logs are', () => {
    const p = propsOf(view.migration);
    const [clusterId] = onlyResource(regional, 'AWS::ECS::Cluster');
    expect(getAtt(p.ClusterArn)).toEqual([clusterId, 'Arn']);
    expect(p.ImageTag).toBe(DEFAULT_CONFIG.difyVersion);
    const migrationContainer = container(view.migrationTask, String(p.ContainerName));
    expect(flatten(asArray(migrationContainer.Command)[0])).toMatch(/; exec flask upgrade-db$/);
    expect(refId(p.LogGroupName)).toBe(refId(migrationContainer.LogConfiguration?.Options?.['awslogs-group']));
    expect(p.LogStreamPrefix).toBe(migrationContainer.LogConfiguration?.Options?.['awslogs-stream-prefix']);
  });

  test('the migration waits for the databases; api, web and backend wait for the migration', () => {
    const [databasesId] = onlyResource(regional, 'Custom::DifyDatabases');
    expect(dependsOn(view.migration)).toContain(databasesId);
    for (const output of ['ApiFunctionName', 'WebFunctionName', 'BackendServiceName']) {
      const dependent = resource(regional, outputTarget(regional, output));
      expect({ output, dependsOn: dependsOn(dependent) }).toEqual({
        output,
        dependsOn: expect.arrayContaining([view.migrationId]),
      });
    }
  });

  test('the migration runner may run only the migration task family and pass only its roles', () => {
    // Custom resource → provider framework onEvent → the runner function named in its environment → its role.
    const frameworkId = getAtt(propsOf(view.migration).ServiceToken)?.[0] ?? '';
    const runnerId = getAtt(lambdaEnvironment(resource(regional, frameworkId)).USER_ON_EVENT_FUNCTION_ARN)?.[0] ?? '';
    const runnerRoleId = getAtt(propsOf(resource(regional, runnerId)).Role)?.[0] ?? '';
    const statements = resourcesOfType(regional, 'AWS::IAM::Policy')
      .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === runnerRoleId))
      .flatMap(([, policy]) => asArray(at(propsOf(policy), 'PolicyDocument', 'Statement')))
      .filter(isRecord);
    const allowing = (action: string) =>
      statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action));

    const runTask = allowing('ecs:RunTask');
    expect(runTask).toHaveLength(1);
    // Every revision of the migration task's family (test/stacks/migration-permissions.test.ts), nothing else.
    expect(flatten(runTask[0].Resource)).toBe(
      `arn:aws:ecs:ap-northeast-1:<Ref:AWS::AccountId>:task-definition/${String(propsOf(view.migrationTask).Family)}:*`,
    );

    const passRole = allowing('iam:PassRole');
    expect(passRole).toHaveLength(1);
    const taskProps = propsOf(view.migrationTask);
    expect(new Set([passRole[0].Resource].flat().map((r) => JSON.stringify(r)))).toEqual(
      new Set([JSON.stringify(taskProps.TaskRoleArn), JSON.stringify(taskProps.ExecutionRoleArn)]),
    );
  });
});

describe('backend with on-demand base capacity and a newer Dify', () => {
  const versions = { difyVersion: '1.14.0', pluginDaemonVersion: '0.6.0-local', sandboxVersion: '0.2.15' };
  let synth: SynthesizedTemplates;
  let view: BackendView;

  beforeAll(() => {
    synth = synthTemplates({ ...versions, backend: { onDemandBase: 1, onDemandWeight: 1 } });
    assets = dockerImageAssets(synth.synthesized.app.outdir);
    view = backendView(synth.regional);
  });
  afterAll(removeSynthOutputs);

  test('one task stays on on-demand Fargate, the rest is shared with Spot', () => {
    const strategy = propsOf(view.service).CapacityProviderStrategy;
    expect(strategy).toEqual(
      expect.arrayContaining([
        { CapacityProvider: 'FARGATE', Base: 1, Weight: 1 },
        { CapacityProvider: 'FARGATE_SPOT', Weight: 1 },
      ]),
    );
    expect(asArray(strategy)).toHaveLength(2);
  });

  test('every image and the migration follow the configured versions', () => {
    for (const name of API_IMAGE_CONTAINERS) {
      expect(imageOf(container(view.taskDefinition, name))).toBe('langgenius/dify-api:1.14.0');
    }
    expect(imageOf(container(view.taskDefinition, 'plugin-daemon'))).toBe('langgenius/dify-plugin-daemon:0.6.0-local');
    expect(imageOf(container(view.taskDefinition, 'sandbox'))).toBe('langgenius/dify-sandbox:0.2.15');
    expect(imageOf(container(view.migrationTask, 'migration'))).toBe('langgenius/dify-api:1.14.0');
    expect(propsOf(view.migration).ImageTag).toBe('1.14.0');
  });

  test('the api and web function images are built from the same Dify version', () => {
    const assembly = synth.synthesized.app.synth();
    const manifestFile = path.join(assembly.directory, `${synth.synthesized.regional.artifactId}.assets.json`);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
      dockerImages?: Record<string, { displayName?: string; source: { dockerBuildArgs?: Record<string, string> } }>;
    };
    const images = Object.values(manifest.dockerImages ?? {});
    expect(images.map((image) => image.displayName).sort()).toEqual(
      expect.arrayContaining(['Api/Function/AssetImage', 'Web/Function/AssetImage']),
    );
    const functionImages = images.filter((image) => /^(Api|Web)\/Function\//.test(image.displayName ?? ''));
    expect(functionImages).toHaveLength(2);
    for (const image of functionImages) expect(image.source.dockerBuildArgs?.DIFY_VERSION).toBe('1.14.0');
    // The ECR copies for the ECS tasks follow the same settings.
    const copies = images.map((image) => image.source.dockerBuildArgs?.SOURCE_IMAGE).filter(Boolean);
    expect(copies.sort()).toEqual([
      'langgenius/dify-api:1.14.0',
      'langgenius/dify-plugin-daemon:0.6.0-local',
      'langgenius/dify-sandbox:0.2.15',
    ]);
  });
});
