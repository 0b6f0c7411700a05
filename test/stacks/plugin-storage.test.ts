import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONFIG } from '../../lib/config';
import { PLUGIN_STORAGE_POSIX_ID } from '../../lib/constructs/plugin-storage';
import { REFERENCE_ROOT, describeWithReference } from '../support/reference';
import {
  CfnResource,
  CfnTemplate,
  asArray,
  at,
  container,
  environmentOf,
  getAtt,
  ingressRulesOf,
  isRecord,
  onlyResource,
  outputTarget,
  propsOf,
  refId,
  removeSynthOutputs,
  resource,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

const PLUGIN_DAEMON_REFERENCE = path.join(REFERENCE_ROOT, 'dify-plugin-daemon-0.5.3');

interface StorageView {
  readonly template: CfnTemplate;
  readonly fileSystemId: string;
  readonly fileSystem: CfnResource;
  readonly accessPointId: string;
  readonly accessPoint: CfnResource;
  readonly serviceId: string;
  readonly taskDefinition: CfnResource;
}

function storageView(template: CfnTemplate): StorageView {
  const [fileSystemId, fileSystem] = onlyResource(template, 'AWS::EFS::FileSystem');
  const [accessPointId, accessPoint] = onlyResource(template, 'AWS::EFS::AccessPoint');
  const serviceId = outputTarget(template, 'BackendServiceName');
  const taskDefinition = resource(template, refId(propsOf(resource(template, serviceId)).TaskDefinition) ?? '');
  return { template, fileSystemId, fileSystem, accessPointId, accessPoint, serviceId, taskDefinition };
}

/** The task definition's volume the plugin daemon mounts at its PLUGIN_WORKING_PATH. */
function workingPathVolume(view: StorageView): Record<string, unknown> {
  const daemon = container(view.taskDefinition, 'plugin-daemon');
  const workingPath = environmentOf(daemon).PLUGIN_WORKING_PATH;
  const mounts = listOrEmpty((daemon as unknown as Record<string, unknown>).MountPoints).filter(isRecord);
  const mount = mounts.find((candidate) => candidate.ContainerPath === workingPath);
  if (!mount) throw new Error(`plugin-daemon mounts nothing at ${String(workingPath)}`);
  const volume = asArray(propsOf(view.taskDefinition).Volumes)
    .filter(isRecord)
    .find((candidate) => candidate.Name === mount.SourceVolume);
  if (!volume) throw new Error(`no volume ${String(mount.SourceVolume)}`);
  return volume;
}

function policyStatements(policy: unknown): Record<string, unknown>[] {
  return asArray(at(policy, 'Statement')).filter(isRecord);
}

const sorted = (value: unknown): unknown[] => [...asArray(value)].sort();
const listOrEmpty = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

describe('plugin working directory on EFS (docs/adr/0020)', () => {
  let view: StorageView;
  let destroyView: StorageView;

  beforeAll(() => {
    view = storageView(synthTemplates().regional);
    destroyView = storageView(synthTemplates({ retainData: false }).regional);
  });

  afterAll(removeSynthOutputs);

  test('the file system is encrypted, Standard (regional), bursting, without automatic backups', () => {
    const props = propsOf(view.fileSystem);
    expect(props.Encrypted).toBe(true);
    // No KmsKeyId: the AWS managed key aws/elasticfilesystem.
    expect(props.KmsKeyId).toBeUndefined();
    expect(props.AvailabilityZoneName).toBeUndefined();
    expect(props.ThroughputMode).toBe('bursting');
    expect(props.BackupPolicy === undefined || at(props, 'BackupPolicy', 'Status') === 'DISABLED').toBe(true);
    expect(props.LifecyclePolicies).toEqual([
      { TransitionToIA: 'AFTER_30_DAYS' },
      { TransitionToPrimaryStorageClass: 'AFTER_1_ACCESS' },
    ]);
  });

  test('retainData keeps the file system; retainData false deletes it with the stack', () => {
    expect(view.fileSystem.DeletionPolicy).toBe('Retain');
    expect(view.fileSystem.UpdateReplacePolicy).toBe('Retain');
    expect(destroyView.fileSystem.DeletionPolicy).toBe('Delete');
  });

  test('the access point makes every request as one non-root user, rooted in a directory of the daemon version', () => {
    const props = propsOf(view.accessPoint);
    expect(refId(props.FileSystemId)).toBe(view.fileSystemId);
    expect(props.PosixUser).toEqual({ Uid: PLUGIN_STORAGE_POSIX_ID, Gid: PLUGIN_STORAGE_POSIX_ID });
    expect(PLUGIN_STORAGE_POSIX_ID).not.toBe('0');
    // The tag of the image the daemon runs (the image itself is mirrored into ECR under an asset hash).
    expect(at(props, 'RootDirectory', 'Path')).toBe(`/plugin-daemon/${DEFAULT_CONFIG.pluginDaemonVersion}`);
    expect(at(props, 'RootDirectory', 'CreationInfo')).toEqual({
      OwnerUid: PLUGIN_STORAGE_POSIX_ID,
      OwnerGid: PLUGIN_STORAGE_POSIX_ID,
      Permissions: '755',
    });
  });

  test('the plugin daemon mounts it at its PLUGIN_WORKING_PATH, through the access point, with TLS and IAM', () => {
    const daemon = container(view.taskDefinition, 'plugin-daemon');
    expect(environmentOf(daemon).PLUGIN_WORKING_PATH).toMatch(/^\//);
    const volume = workingPathVolume(view);
    expect(refId(at(volume, 'EFSVolumeConfiguration', 'FilesystemId'))).toBe(view.fileSystemId);
    expect(at(volume, 'EFSVolumeConfiguration', 'TransitEncryption')).toBe('ENABLED');
    expect(at(volume, 'EFSVolumeConfiguration', 'AuthorizationConfig', 'IAM')).toBe('ENABLED');
    expect(refId(at(volume, 'EFSVolumeConfiguration', 'AuthorizationConfig', 'AccessPointId'))).toBe(
      view.accessPointId,
    );
    // With an access point the root directory must be unset or "/" (ECS API, EFSVolumeConfiguration).
    expect([undefined, '/']).toContain(at(volume, 'EFSVolumeConfiguration', 'RootDirectory'));
    const mount = listOrEmpty((daemon as unknown as Record<string, unknown>).MountPoints)
      .filter(isRecord)
      .find((candidate) => candidate.ContainerPath === environmentOf(daemon).PLUGIN_WORKING_PATH);
    expect(mount?.ReadOnly).toBe(false);
  });

  test('no other container mounts it', () => {
    const volumeName = workingPathVolume(view).Name;
    for (const definition of asArray(propsOf(view.taskDefinition).ContainerDefinitions).filter(isRecord)) {
      if (definition.Name === 'plugin-daemon') continue;
      const mounts = listOrEmpty(definition.MountPoints).filter(isRecord);
      expect(mounts.filter((mount) => mount.SourceVolume === volumeName)).toEqual([]);
    }
  });

  test('NFS (2049) reaches the file system from the backend task security group only', () => {
    const mountTargets = resourcesOfType(view.template, 'AWS::EFS::MountTarget');
    expect(mountTargets.length).toBeGreaterThanOrEqual(2);
    const groups = new Set(
      mountTargets.flatMap(([, target]) => asArray(propsOf(target).SecurityGroups).map((id) => getAtt(id)?.[0])),
    );
    expect(groups.size).toBe(1);
    const [fileSystemGroup] = [...groups];
    const backendGroup = getAtt(
      asArray(
        at(
          propsOf(resource(view.template, view.serviceId)),
          'NetworkConfiguration',
          'AwsvpcConfiguration',
          'SecurityGroups',
        ),
      )[0],
    )?.[0];
    expect(backendGroup).toBeDefined();
    expect(ingressRulesOf(view.template, fileSystemGroup ?? '')).toEqual([
      { protocol: 'tcp', fromPort: 2049, toPort: 2049, sourceGroup: backendGroup, cidr: undefined },
    ]);
    // Nothing out of the file system's group.
    const egress = listOrEmpty(propsOf(resource(view.template, fileSystemGroup ?? '')).SecurityGroupEgress).filter(
      isRecord,
    );
    expect(egress.every((rule) => rule.CidrIp === '255.255.255.255/32')).toBe(true);
  });

  test('mount targets sit in the private subnets', () => {
    const subnetIds = resourcesOfType(view.template, 'AWS::EFS::MountTarget').map(
      ([, target]) => refId(propsOf(target).SubnetId) ?? '',
    );
    for (const subnetId of subnetIds) {
      expect(subnetId).toMatch(/Private/);
      expect(propsOf(resource(view.template, subnetId)).MapPublicIpOnLaunch).not.toBe(true);
    }
  });

  test('the backend task role may mount and write that file system, only through the access point', () => {
    const taskRoleId = getAtt(propsOf(view.taskDefinition).TaskRoleArn)?.[0];
    const efsStatements = resourcesOfType(view.template, 'AWS::IAM::Policy')
      .filter(([, policy]) => asArray(propsOf(policy).Roles).some((role) => refId(role) === taskRoleId))
      .flatMap(([, policy]) => policyStatements(propsOf(policy).PolicyDocument))
      .filter((statement) => JSON.stringify(statement.Action).includes('elasticfilesystem:'));
    expect(efsStatements).toHaveLength(1);
    const [statement] = efsStatements;
    expect(sorted(statement.Action)).toEqual(['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']);
    expect(getAtt(statement.Resource)).toEqual([view.fileSystemId, 'Arn']);
    const accessPointArn = at(statement, 'Condition', 'StringEquals', 'elasticfilesystem:AccessPointArn');
    expect(getAtt(accessPointArn)?.[0] ?? JSON.stringify(accessPointArn)).toContain(view.accessPointId);

    // No other role of the stack gets any EFS client action.
    const others = resourcesOfType(view.template, 'AWS::IAM::Policy')
      .filter(([, policy]) => !asArray(propsOf(policy).Roles).some((role) => refId(role) === taskRoleId))
      .flatMap(([, policy]) => policyStatements(propsOf(policy).PolicyDocument))
      .filter((statement) => JSON.stringify(statement.Action).includes('elasticfilesystem:Client'));
    expect(others).toEqual([]);
  });

  test('the file system policy allows no one and denies everyone but the task role, and everything without TLS', () => {
    const taskRoleId = getAtt(propsOf(view.taskDefinition).TaskRoleArn)?.[0];
    const statements = policyStatements(propsOf(view.fileSystem).FileSystemPolicy);
    // Access comes from the role's own policy (pinned to the access point); nothing else may add an Allow here.
    expect(statements.filter((statement) => statement.Effect !== 'Deny')).toEqual([]);
    const clientActions = [
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientRootAccess',
      'elasticfilesystem:ClientWrite',
    ];
    const withoutTls = statements.find((statement) => at(statement, 'Condition', 'Bool', 'aws:SecureTransport'));
    expect(at(withoutTls, 'Condition', 'Bool', 'aws:SecureTransport')).toBe('false');
    expect(at(withoutTls, 'Principal', 'AWS')).toBe('*');
    expect(sorted(withoutTls?.Action)).toEqual(clientActions);
    const others = statements.find((statement) => at(statement, 'Condition', 'ArnNotEquals'));
    expect(at(others, 'Principal', 'AWS')).toBe('*');
    expect(sorted(others?.Action)).toEqual(clientActions);
    expect(getAtt(at(others, 'Condition', 'ArnNotEquals', 'aws:PrincipalArn'))).toEqual([taskRoleId, 'Arn']);
    expect(statements).toHaveLength(2);
  });

  test('the backend service starts only once the mount targets are available', () => {
    const dependencies = asArray(resource(view.template, view.serviceId).DependsOn);
    for (const [mountTargetId] of resourcesOfType(view.template, 'AWS::EFS::MountTarget')) {
      expect(dependencies).toContain(mountTargetId);
    }
  });

  test('the service runs on a Fargate platform version that mounts EFS (LATEST or >= 1.4.0)', () => {
    const platformVersion = propsOf(resource(view.template, view.serviceId)).PlatformVersion;
    if (platformVersion !== undefined && platformVersion !== 'LATEST') {
      expect(String(platformVersion).localeCompare('1.4.0', undefined, { numeric: true })).toBeGreaterThanOrEqual(0);
    }
  });
});

describeWithReference('plugin daemon sources the working directory relies on (dify-plugin-daemon 0.5.3)', () => {
  const read = (relativePath: string) => fs.readFileSync(path.join(PLUGIN_DAEMON_REFERENCE, relativePath), 'utf8');

  test('the daemon reads PLUGIN_WORKING_PATH, and needs it on the local platform', () => {
    const config = read('internal/types/app/config.go');
    expect(config).toMatch(/PluginWorkingPath\s+string\s+`envconfig:"PLUGIN_WORKING_PATH"`/);
    expect(config).toMatch(/c\.Platform == PLATFORM_LOCAL \{\s*if c\.PluginWorkingPath == "" \{/);
  });

  // The reference selection may not hold the local runtime; these run wherever it does.
  const runtimeSource = 'internal/core/local_runtime/setup_python_environment.go';
  const hasRuntimeSource = fs.existsSync(path.join(PLUGIN_DAEMON_REFERENCE, runtimeSource));
  (hasRuntimeSource ? test : test.skip)(
    'an existing venv with its .venv/dify/plugin.json marker is reused, not reinstalled',
    () => {
      const setup = read(runtimeSource);
      expect(setup).toContain('envValidFlagFile = envPath + "/dify/plugin.json"');
      const environment = read('internal/core/local_runtime/environment_python.go');
      // case nil: only the SDK patch, then return before installDependencies.
      expect(environment).toMatch(/case nil:[\s\S]*?return nil\s*\n\s*default:/);
      expect(environment.indexOf('case nil:')).toBeLessThan(environment.indexOf('p.installDependencies('));
    },
  );
});
