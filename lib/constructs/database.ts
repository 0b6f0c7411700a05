import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { bundledFunction } from '../bundled-function';
import { waitForRolePolicies } from '../custom-resource-permissions';
import { acknowledgeProviderInvokes } from '../nag-suppressions';

/**
 * Aurora PostgreSQL major version, the only version in the template: Aurora picks the current default minor at
 * creation and applies minor upgrades itself, so the template never names a minor that AWS has moved past (or
 * retired). 16 ships pgvector and supports 0-ACU auto-pause, which needs ≥ 16.3 (Aurora User Guide "Scaling to Zero
 * ACUs"); every minor Aurora still creates is newer. A major upgrade is a deliberate change here (docs/adr/0011).
 */
export const AURORA_POSTGRES_MAJOR_VERSION = '16';

/**
 * Seconds after which PostgreSQL ends a session of the Dify role that sits idle outside a transaction
 * (`idle_session_timeout`, PostgreSQL 14+), in Dify's main and plugin databases. A 0-ACU cluster pauses only after
 * `autoPauseSeconds` (at least 300) with no connection at all (Aurora User Guide, "Scaling to Zero ACUs with
 * automatic pause and resume"), and pooled connections outlive their users: a frozen api Lambda environment keeps
 * its SQLAlchemy pool open for as long as Lambda keeps the environment. 120 s ends those well before the pause
 * timer matters, yet a busy pool, used every few seconds, never notices. Clients reconnect by themselves: Dify's
 * pool pre-pings (SQLALCHEMY_POOL_PRE_PING), and the plugin daemon recycles its connections first
 * (DB_CONN_MAX_LIFETIME in lib/dify-environment.ts). Not in the vector database: Dify's pgvector client keeps a
 * psycopg2 pool with no liveness check, reused across batches of one indexing task. See docs/adr/0021.
 */
export const IDLE_SESSION_TIMEOUT_SECONDS = 120;

export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  /**
   * Minimum Aurora capacity units; 0 lets the cluster pause while no client holds a connection.
   * @default 0
   */
  readonly minAcu?: number;
  /**
   * Maximum Aurora capacity units.
   * @default 2
   */
  readonly maxAcu?: number;
  /**
   * Idle seconds before a 0-ACU cluster pauses.
   * @default 300
   */
  readonly autoPauseSeconds?: number;
  /**
   * Snapshot the cluster and keep its secret when the stack is deleted; deletion protection on.
   * @default true
   */
  readonly retainData?: boolean;
}

/**
 * Aurora Serverless v2 PostgreSQL holding Dify's main database, its pgvector database and the plugin daemon's
 * database. The extra databases are created at deploy time through the RDS Data API, so no Lambda needs to sit in
 * the VPC for it.
 */
export class Database extends Construct {
  static readonly MAIN_DATABASE = 'dify';
  static readonly VECTOR_DATABASE = 'dify_pgvector';
  static readonly PLUGIN_DATABASE = 'dify_plugin';
  static readonly PORT = 5432;
  static readonly USERNAME = 'dify_admin';

  readonly cluster: rds.DatabaseCluster;
  readonly secret: secretsmanager.ISecret;
  /** Completes once the vector and plugin databases (and the vector extension) exist. */
  readonly databasesReady: CustomResource;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const retain = props.retainData ?? true;
    const minAcu = props.minAcu ?? 0;
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({
        // True of every 16.x minor Aurora still creates (all ≥ 16.3); CDK cannot infer it from a bare major.
        version: rds.AuroraPostgresEngineVersion.of(AURORA_POSTGRES_MAJOR_VERSION, AURORA_POSTGRES_MAJOR_VERSION, {
          serverlessV2AutoPauseSupported: true,
        }),
      }),
      // Automatic minor upgrades need the setting on the cluster and on every instance (AWS Config rule
      // "rds-automatic-minor-version-upgrade-enabled"). They cannot conflict with the template: CloudFormation sends
      // EngineVersion to RDS only when the template's value changes (aws-cloudformation-resource-providers-rds,
      // aws-rds-dbcluster Translator.modifyDbClusterRequest), and the template holds only the major version.
      autoMinorVersionUpgrade: true,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      credentials: rds.Credentials.fromGeneratedSecret(Database.USERNAME, {
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      }),
      defaultDatabaseName: Database.MAIN_DATABASE,
      writer: rds.ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: minAcu,
      serverlessV2MaxCapacity: props.maxAcu ?? 2,
      ...(minAcu === 0 ? { serverlessV2AutoPauseDuration: Duration.seconds(props.autoPauseSeconds ?? 300) } : {}),
      storageEncrypted: true,
      enableDataApi: true,
      backup: { retention: Duration.days(7) },
      deletionProtection: retain,
      removalPolicy: retain ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: 30,
    });
    // cfn-lint's W3690 lists the bare major "16" as deprecated because some 16.x minors are (its generator adds the
    // major of every deprecated minor: scripts/update_schemas_from_aws_api.py, write_db_cluster_deprecated); RDS
    // resolves a bare major to a current minor.
    (this.cluster.node.defaultChild as rds.CfnDBCluster).addMetadata('cfn-lint', {
      config: { ignore_checks: ['W3690'] },
    });
    if (!this.cluster.secret) throw new Error('Database: the cluster was created without generated credentials');
    this.secret = this.cluster.secret;
    // A snapshot without its password is a restore chore: keep the secret with the data. `cluster.secret` is only
    // the attachment; the generated secret itself is the cluster's child named 'Secret'.
    const generatedSecret = this.cluster.node.tryFindChild('Secret');
    if (retain && generatedSecret instanceof secretsmanager.Secret)
      generatedSecret.applyRemovalPolicy(RemovalPolicy.RETAIN);

    const initFunction = bundledFunction(this, 'DatabaseInitFunction', {
      source: 'functions/database-init/index.ts',
      handler: 'onEvent',
      description: 'Creates the Dify pgvector and plugin databases through the RDS Data API',
      // Resuming a paused cluster takes up to ~15 s, and the handler retries DatabaseResumingException for minutes.
      timeout: Duration.minutes(5),
    });
    this.cluster.grantDataApiAccess(initFunction);
    const provider = new cr.Provider(this, 'DatabaseInitProvider', { onEventHandler: initFunction });
    acknowledgeProviderInvokes(provider, [initFunction]);
    this.databasesReady = new CustomResource(this, 'Databases', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DifyDatabases',
      properties: {
        ClusterArn: this.cluster.clusterArn,
        SecretArn: this.secret.secretArn,
        Databases: [Database.VECTOR_DATABASE, Database.PLUGIN_DATABASE],
        VectorDatabase: Database.VECTOR_DATABASE,
        // A cluster that never pauses (minAcu > 0) gains nothing from ending idle sessions: 0 resets the setting.
        IdleSessionTimeoutSeconds: String(minAcu === 0 ? IDLE_SESSION_TIMEOUT_SECONDS : 0),
        // Every Dify client (api, workers, beat, plugin daemon, migrations) connects as the master user.
        IdleSessionRole: Database.USERNAME,
        IdleSessionDatabases: [Database.MAIN_DATABASE, Database.PLUGIN_DATABASE],
      },
    });
    // The Data API needs a running writer. Depend on the instance only: the whole cluster construct also holds
    // security-group rules added by later clients, which would make dependency cycles.
    const writer = this.cluster.node.tryFindChild('Writer');
    if (writer) this.databasesReady.node.addDependency(writer);
    waitForRolePolicies(this.databasesReady, initFunction, provider);
  }

  /** Lets `peer` open PostgreSQL connections. */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.cluster.connections.allowFrom(peer, ec2.Port.tcp(Database.PORT), description);
  }
}
