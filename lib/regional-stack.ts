import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { DifyEdgeConfig } from './config';
import { AlbFrontend } from './constructs/alb-frontend';
import { ApiFunction, LIVE_ALIAS } from './constructs/api-function';
import { BACKEND_SERVICE_NAME, BackendService } from './constructs/backend-service';
import { BedrockKnowledgeApi } from './constructs/bedrock-knowledge-api';
import { Cache } from './constructs/cache';
import { Database } from './constructs/database';
import { DatabaseMigration } from './constructs/database-migration';
import { DifySecrets } from './constructs/dify-secrets';
import { DistributionOrigins, EdgeDistribution, lambdaOrigins } from './constructs/distribution';
import { Network } from './constructs/network';
import { SiteUrl } from './constructs/site-url';
import { Storage } from './constructs/storage';
import { WebFunction } from './constructs/web-function';
import {
  API_PORT,
  DifyDependencies,
  PLUGIN_DAEMON_PORT,
  SANDBOX_PORT,
  difyApiImageSettings,
  pluginDaemonSettings,
  sandboxSettings,
  webEnvironment,
} from './dify-environment';

export interface DifyRegionalStackProps extends StackProps {
  readonly config: DifyEdgeConfig;
  /** CLOUDFRONT-scope web ACL from the us-east-1 stack. */
  readonly webAclArn: string;
  /** Payload signer version from the us-east-1 stack (lambda hosting only). */
  readonly payloadSignerVersion?: lambda.IVersion;
}

/**
 * Lambda@Edge sees at most 1 MB of a body, and a body it cannot hash cannot reach an OAC-signed function URL
 * (docs/adr/0002). Telling Dify the same limit (in MB) makes its UI refuse larger files up front with its own
 * message, instead of the upload failing at the edge with a 413.
 */
export const EDGE_UPLOAD_LIMITS: Record<string, string> = {
  UPLOAD_FILE_SIZE_LIMIT: '1',
  UPLOAD_IMAGE_FILE_SIZE_LIMIT: '1',
  UPLOAD_VIDEO_FILE_SIZE_LIMIT: '1',
  UPLOAD_AUDIO_FILE_SIZE_LIMIT: '1',
  ATTACHMENT_IMAGE_FILE_SIZE_LIMIT: '1',
  ANNOTATION_IMPORT_FILE_SIZE_LIMIT: '1',
};

/** Private DNS namespace the backend task registers in. */
export const BACKEND_NAMESPACE = 'dify.internal';

/**
 * Everything regional: network, data layer, backend on Fargate Spot, the api/web front (Lambda or ALB) and the
 * CloudFront distribution in front of it.
 */
export class DifyRegionalStack extends Stack {
  readonly distribution: EdgeDistribution;

  constructor(scope: Construct, id: string, props: DifyRegionalStackProps) {
    super(scope, id, props);
    const { config } = props;
    const retainData = config.retainData;

    const network = new Network(this, 'Network', { nat: config.nat });
    const vpc = network.vpc;
    const storage = new Storage(this, 'Storage', { retainData });
    const secrets = new DifySecrets(this, 'Secrets', { retainData });
    const database = new Database(this, 'Database', {
      vpc,
      minAcu: config.database.minAcu,
      maxAcu: config.database.maxAcu,
      autoPauseSeconds: config.database.autoPauseSeconds,
      retainData,
    });
    const cache = new Cache(this, 'Cache', {
      vpc,
      authToken: secrets.redisAuthToken,
      nodeType: config.redisNodeType,
    });

    // The web front end calls the api on its own origin, so relative URLs suffice there; the api-image containers
    // learn the public URL through the SiteUrl secret, written once the distribution exists (constructs/site-url.ts).
    const siteUrl = config.domain ? `https://${config.domain.name}` : '';
    const siteUrlSetting = new SiteUrl(this, 'SiteUrlSetting');
    const backendHost = `${BACKEND_SERVICE_NAME}.${BACKEND_NAMESPACE}`;
    const baseDependencies: Omit<DifyDependencies, 'sandboxEndpoint' | 'pluginDaemonEndpoint'> = {
      region: this.region,
      siteUrl,
      databaseHost: database.cluster.clusterEndpoint.hostname,
      databaseSecret: database.secret,
      redisHost: cache.host,
      redisAuthToken: secrets.redisAuthToken,
      bucketName: storage.bucket.bucketName,
      secretKey: secrets.secretKey,
      sandboxApiKey: secrets.sandboxApiKey,
      pluginDaemonKey: secrets.pluginDaemonKey,
      innerApiKey: secrets.innerApiKey,
      initPassword: secrets.initPassword,
      siteUrlSecret: siteUrlSetting.secret,
    };
    // Inside the backend task the parts talk over localhost; from outside they are reached by Cloud Map name.
    const inTask: DifyDependencies = {
      ...baseDependencies,
      sandboxEndpoint: `http://localhost:${SANDBOX_PORT}`,
      pluginDaemonEndpoint: `http://localhost:${PLUGIN_DAEMON_PORT}`,
    };
    const remote: DifyDependencies = {
      ...baseDependencies,
      sandboxEndpoint: `http://${backendHost}:${SANDBOX_PORT}`,
      pluginDaemonEndpoint: `http://${backendHost}:${PLUGIN_DAEMON_PORT}`,
    };

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      enableFargateCapacityProviders: true,
      containerInsightsV2: ecs.ContainerInsights.DISABLED,
    });
    const namespace = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
      name: BACKEND_NAMESPACE,
      vpc,
      description: 'Dify backend service discovery',
    });
    const backend = new BackendService(this, 'Backend', {
      cluster,
      namespace,
      difyVersion: config.difyVersion,
      pluginDaemonVersion: config.pluginDaemonVersion,
      sandboxVersion: config.sandboxVersion,
      workerSettings: difyApiImageSettings(inTask, 'worker'),
      beatSettings: difyApiImageSettings(inTask, 'beat'),
      internalApiSettings: difyApiImageSettings(inTask, 'api'),
      pluginDaemonSettings: pluginDaemonSettings(inTask, `http://localhost:${API_PORT}`),
      sandboxSettings: sandboxSettings(inTask, config.backend.sandboxNetwork),
      bucket: storage.bucket,
      onDemandBase: config.backend.onDemandBase,
      spotWeight: config.backend.spotWeight,
      onDemandWeight: config.backend.onDemandWeight,
      cpu: config.backend.cpu,
      memoryMiB: config.backend.memoryMiB,
      enableExec: config.backend.enableExec,
    });
    database.allowFrom(backend.securityGroup, 'Dify backend task');
    cache.allowFrom(backend.securityGroup, 'Dify backend task');

    const migration = new DatabaseMigration(this, 'Migration', {
      cluster,
      difyVersion: config.difyVersion,
      settings: difyApiImageSettings(inTask, 'api'),
      securityGroup: backend.securityGroup,
    });
    migration.resource.node.addDependency(database.databasesReady, cache.replicationGroup);
    // The migration task needs its security-group rules into the database and cache before it starts; the
    // security groups hold the rules added for every client.
    migration.resource.node.addDependency(...database.cluster.connections.securityGroups, cache.securityGroup);
    // Workers run the new code only against the migrated schema.
    backend.service.node.addDependency(migration.resource);

    let origins: DistributionOrigins;
    let coldStartFunctionName: string | undefined;
    const urlReaders: Construct[] = [backend.service];
    if (config.hosting === 'lambda') {
      const apiSettings = difyApiImageSettings(remote, 'api');
      const api = new ApiFunction(this, 'Api', {
        vpc,
        difyVersion: config.difyVersion,
        settings: { ...apiSettings, environment: { ...apiSettings.environment, ...EDGE_UPLOAD_LIMITS } },
        bucket: storage.bucket,
        memoryMb: config.api.memoryMb,
        timeoutSeconds: config.api.timeoutSeconds,
        provisionedConcurrency: config.api.provisionedConcurrency,
        snapStart: config.api.snapStart,
      });
      const web = new WebFunction(this, 'Web', {
        difyVersion: config.difyVersion,
        environment: webEnvironment(siteUrl),
        memoryMb: config.web.memoryMb,
      });
      database.allowFrom(api.securityGroup, 'Dify api function');
      cache.allowFrom(api.securityGroup, 'Dify api function');
      backend.allowApiClients(api.securityGroup);
      // The new api and web versions go live only after the schema they expect exists.
      api.function.node.addDependency(migration.resource);
      web.function.node.addDependency(migration.resource);
      origins = lambdaOrigins(this, api.url, web.url);
      if (config.api.keepWarm) urlReaders.push(api.addKeepWarmSchedule(config.api.keepWarmHoursUtc));
      new CfnOutput(this, 'ApiFunctionName', { value: api.function.functionName, description: 'For bench cold-start' });
      coldStartFunctionName = api.function.functionName;
      new CfnOutput(this, 'WebFunctionName', { value: web.function.functionName });
    } else {
      const front = new AlbFrontend(this, 'AlbFrontend', {
        cluster,
        difyVersion: config.difyVersion,
        apiSettings: difyApiImageSettings(remote, 'api'),
        webEnvironment: webEnvironment(siteUrl),
        bucket: storage.bucket,
      });
      database.allowFrom(front.apiSecurityGroup, 'Dify api service');
      cache.allowFrom(front.apiSecurityGroup, 'Dify api service');
      backend.allowApiClients(front.apiSecurityGroup);
      front.apiService.node.addDependency(migration.resource);
      front.webService.node.addDependency(migration.resource);
      urlReaders.push(front.apiService);
      origins = front.origins;
      new CfnOutput(this, 'ApiServiceName', { value: front.apiService.serviceName, description: 'For bench wake' });
      new CfnOutput(this, 'WebServiceName', { value: front.webService.serviceName });
    }

    this.distribution = new EdgeDistribution(this, 'Edge', {
      origins,
      payloadSigner: props.payloadSignerVersion,
      webAclArn: props.webAclArn,
      domain: config.domain,
    });

    const siteOutput = config.domain ? siteUrl : this.distribution.url;
    const publishedSiteUrl = siteUrlSetting.publish(siteOutput);
    // ECS reads secrets when a task starts, and a keep-warm ping starts a Lambda environment that keeps what it read:
    // start them only once the URL is in place.
    for (const service of urlReaders) service.node.addDependency(publishedSiteUrl);
    if (coldStartFunctionName) {
      new CfnOutput(this, 'BenchColdStartCommand', {
        description: 'Measures api cold starts through CloudFront (publishes versions; the alias is restored after)',
        value:
          `npm run bench -- cold-start --region ${this.region} --function ${coldStartFunctionName} --alias ${LIVE_ALIAS}` +
          ` --restore-alias --url ${siteOutput}/console/api/setup --out lambda-cold.json`,
      });
    }
    new CfnOutput(this, 'SiteUrl', { value: siteOutput, description: 'Open this to set up Dify' });
    new CfnOutput(this, 'DistributionDomainName', {
      value: this.distribution.distribution.distributionDomainName,
      description: 'Point your custom domain (CNAME/alias) here',
    });
    new CfnOutput(this, 'NatEgressIp', {
      value: network.egressIp,
      description: 'Every outbound call (LLM providers, plugins) comes from this address: allow-list it there',
    });
    new CfnOutput(this, 'BucketName', { value: storage.bucket.bucketName });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'BackendServiceName', { value: backend.service.serviceName });
    new CfnOutput(this, 'DatabaseSecretArn', { value: database.secret.secretArn });
    new CfnOutput(this, 'DifySecretArns', { value: secrets.all.map((s) => s.secretArn).join(',') });
    new CfnOutput(this, 'InitPasswordCommand', {
      description: 'Prints the password Dify asks for before the first admin account is created',
      value: `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${secrets.initPassword.secretArn} --query SecretString --output text`,
    });
    new CfnOutput(this, 'DatabaseQueryCommand', {
      description: 'Query the database through the Data API (no network path needed)',
      value: `aws rds-data execute-statement --region ${this.region} --resource-arn ${database.cluster.clusterArn} --secret-arn ${database.secret.secretArn} --database ${Database.MAIN_DATABASE} --sql "select version()"`,
    });
    new CfnOutput(this, 'BackendShellCommand', {
      description: 'Shell in the backend task (set backend.enableExec: true first)',
      value: `aws ecs execute-command --region ${this.region} --cluster ${cluster.clusterName} --task <task-id> --container internal-api --interactive --command /bin/bash`,
    });
    new CfnOutput(this, 'MigrationLogGroup', { value: migration.logGroup.logGroupName });

    if (config.bedrockKnowledgeBases) {
      // Dify's External Knowledge API over Bedrock Knowledge Bases (docs/adr/0012).
      const knowledge = new BedrockKnowledgeApi(this, 'BedrockKnowledge', {
        knowledgeBaseIds: config.bedrockKnowledgeBases.knowledgeBaseIds,
        knowledgeBaseRegion: config.bedrockKnowledgeBases.region,
        retainData,
      });
      new CfnOutput(this, 'BedrockKnowledgeEndpoint', {
        value: knowledge.endpoint,
        description: 'Dify: Knowledge > External Knowledge API > API Endpoint',
      });
      new CfnOutput(this, 'BedrockKnowledgeApiKeyCommand', {
        description: 'Prints the API Key to paste into Dify next to the endpoint',
        value: `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${knowledge.apiKey.secretArn} --query SecretString --output text`,
      });
    }
  }
}
