import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * The POSIX identity every request through the access point is made as. The daemon's image has no USER (root;
 * docker/local.dockerfile of dify-plugin-daemon 0.5.3), but it needs no root on the file system: the access point
 * maps all its requests to this owner of the root directory, so no client ever needs ClientRootAccess.
 */
export const PLUGIN_STORAGE_POSIX_ID = '1000';

/** EFS client actions the backend task role gets (Amazon EFS User Guide, "Using IAM to control file system data access"). */
const CLIENT_ACTIONS = ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'];

export interface PluginStorageProps {
  readonly vpc: ec2.IVpc;
  /**
   * Image tag of the plugin daemon. Each tag gets a directory of its own (see `rootDirectory`).
   */
  readonly pluginDaemonVersion: string;
  /**
   * Keep the file system when the stack is deleted (config `retainData`).
   * @default true
   */
  readonly retainData?: boolean;
}

/**
 * Persistent working directory of the plugin daemon (PLUGIN_WORKING_PATH): the unpacked plugins and the Python
 * virtual environment the daemon builds for each, so a backend restart (deploy, Spot interruption, backend sleep)
 * reuses them instead of reinstalling every plugin's dependencies from PyPI (docs/adr/0019).
 *
 * - EFS Standard, encrypted at rest with the AWS managed key `aws/elasticfilesystem`: the contents are public
 *   plugin code and PyPI packages, rebuildable at any time; a customer managed key would cost $1/month and a key
 *   policy to maintain without protecting anything a deleted file system would not.
 * - Only the backend task role, only through the access point, only over TLS: a file system policy plus the task
 *   volume's IAM authorization and transit encryption; the security group takes NFS (2049) from the backend
 *   task's security group only.
 * - No automatic backups: every file can be rebuilt by the daemon from the plugin packages kept in S3.
 * - Files untouched for 30 days move to Infrequent Access and come back on first read: plugin upgrades leave the
 *   previous version's directory behind (the daemon never deletes one), and those are never read again.
 */
export class PluginStorage extends Construct {
  readonly fileSystem: efs.FileSystem;
  readonly accessPoint: efs.AccessPoint;
  readonly securityGroup: ec2.SecurityGroup;
  /** Directory of this daemon version on the file system, the access point's root. */
  readonly rootDirectory: string;

  constructor(scope: Construct, id: string, props: PluginStorageProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_.-]+$/.test(props.pluginDaemonVersion)) {
      throw new Error(
        `PluginStorage: pluginDaemonVersion ${JSON.stringify(props.pluginDaemonVersion)} is not an image tag ` +
          '(letters, digits, ".", "_" and "-")',
      );
    }
    const retain = props.retainData ?? true;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Plugin daemon working directory (EFS): NFS from the Dify backend task only',
      allowAllOutbound: false,
    });
    this.fileSystem = new efs.FileSystem(this, 'FileSystem', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.securityGroup,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      // Bursting costs nothing beyond storage; a new file system starts with 2.1 TiB of burst credits and earns
      // more than a few plugin starts a day read (docs/adr/0019, "Throughput").
      throughputMode: efs.ThroughputMode.BURSTING,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      outOfInfrequentAccessPolicy: efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
      enableAutomaticBackups: false,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      // The policy below replaces CDK's default one, which would let ANY principal of the account write and act
      // as root through a mount target. With a file system policy in place, a client that mounts without IAM is
      // anonymous and matches no Allow (Amazon EFS User Guide, "Using IAM to control file system data access").
      allowAnonymousAccess: true,
    });
    this.fileSystem.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyWithoutTls',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...CLIENT_ACTIONS, 'elasticfilesystem:ClientRootAccess'],
        conditions: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // One directory per daemon version. A venv's bin/python is a symlink into the image; if a new image moved
    // the interpreter, the daemon would see the venv as an error, not as invalid, and neither rebuild it nor start
    // the plugin (internal/core/local_runtime/setup_python_environment.go:264-266 and environment_python.go:53-54
    // of dify-plugin-daemon 0.5.3). A new version therefore starts from an empty directory and rebuilds once.
    this.rootDirectory = `/plugin-daemon/${props.pluginDaemonVersion}`;
    this.accessPoint = this.fileSystem.addAccessPoint('AccessPoint', {
      path: this.rootDirectory,
      posixUser: { uid: PLUGIN_STORAGE_POSIX_ID, gid: PLUGIN_STORAGE_POSIX_ID },
      createAcl: { ownerUid: PLUGIN_STORAGE_POSIX_ID, ownerGid: PLUGIN_STORAGE_POSIX_ID, permissions: '755' },
    });
  }

  /**
   * Mounts the access point at `containerPath` in `container`, lets `taskDefinition`'s task role (and no one else)
   * mount and write through it, and lets `peer` reach NFS. `service` waits for the mount targets.
   */
  mountIn(options: {
    readonly taskDefinition: ecs.FargateTaskDefinition;
    readonly container: ecs.ContainerDefinition;
    readonly containerPath: string;
    readonly peer: ec2.IConnectable;
    readonly service: Construct;
  }): void {
    const { taskDefinition, container, containerPath } = options;
    const volumeName = 'plugin-working-path';
    // Fargate mounts EFS from platform version 1.4.0 on; services default to LATEST, which is 1.4.0 for Linux
    // (Amazon ECS Developer Guide, "Amazon EFS volumes" and "Fargate platform versions for Amazon ECS").
    taskDefinition.addVolume({
      name: volumeName,
      efsVolumeConfiguration: {
        fileSystemId: this.fileSystem.fileSystemId,
        transitEncryption: 'ENABLED',
        authorizationConfig: { accessPointId: this.accessPoint.accessPointId, iam: 'ENABLED' },
      },
    });
    container.addMountPoints({ sourceVolume: volumeName, containerPath, readOnly: false });

    const onlyThroughAccessPoint = {
      StringEquals: { 'elasticfilesystem:AccessPointArn': this.accessPoint.accessPointArn },
    };
    taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: CLIENT_ACTIONS,
        resources: [this.fileSystem.fileSystemArn],
        conditions: onlyThroughAccessPoint,
      }),
    );
    // The file system policy cannot name the access point (the access point depends on the file system: a cycle),
    // so the exact access point is pinned by the role's policy above, and the file system policy denies everyone
    // else. A missing aws:PrincipalArn (a client mounting without IAM) also matches ArnNotEquals (IAM User Guide,
    // "IAM JSON policy elements: Condition operators", negated operators and missing keys).
    this.fileSystem.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheBackendTask',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...CLIENT_ACTIONS, 'elasticfilesystem:ClientRootAccess'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': taskDefinition.taskRole.roleArn } },
      }),
    );
    this.fileSystem.connections.allowDefaultPortFrom(options.peer, 'Dify backend task (plugin daemon) to EFS');
    options.service.node.addDependency(this.fileSystem.mountTargetsAvailable);
  }
}
