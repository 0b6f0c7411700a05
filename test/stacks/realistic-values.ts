/**
 * Resolves CloudFormation values of a synthesized template to realistic, worst-case-length strings, so a test can
 * measure what a deployed resource would really hold (e.g. the api function's environment against Lambda's 4 KB).
 * Unknown references throw: an unmodelled token must never be measured as shorter than it is.
 */
import { CfnTemplate, getAtt, isRecord, refId } from './template-helpers';

const REGION = 'ap-northeast-1';
const ACCOUNT = '123456789012';

/** CloudFormation-generated names: the stack name, the logical id and a random suffix, cut to the service's limit. */
function generatedName(stackName: string, logicalId: string, maxLength: number, suffixLength = 13): string {
  const suffix = 'X'.repeat(suffixLength);
  return `${stackName}-${logicalId}-${suffix}`.slice(-maxLength);
}

export function realisticResolver(template: CfnTemplate, stackName: string): (value: unknown) => string {
  const typeOf = (logicalId: string): string => {
    const found = template.Resources[logicalId];
    if (!found) throw new Error(`no resource ${logicalId}`);
    return found.Type;
  };
  const secretArn = (logicalId: string) =>
    // Name up to 512 characters in principle; CloudFormation names it `<logical id>-<12 random>`, and the ARN adds
    // `-<6 random>`. The stack name is added on top to stay on the safe side.
    `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${generatedName(stackName, logicalId, 256, 12)}-AbCdEf`;

  const resolveRef = (logicalId: string): string => {
    if (logicalId === 'AWS::Region') return REGION;
    if (logicalId === 'AWS::AccountId') return ACCOUNT;
    if (logicalId === 'AWS::Partition') return 'aws';
    if (logicalId === 'AWS::URLSuffix') return 'amazonaws.com';
    if (logicalId === 'AWS::StackName') return stackName;
    const type = typeOf(logicalId);
    switch (type) {
      case 'AWS::SecretsManager::Secret':
        return secretArn(logicalId);
      case 'AWS::SecretsManager::SecretTargetAttachment': {
        const target = template.Resources[logicalId].Properties?.SecretId;
        const secretId = refId(target);
        if (!secretId) throw new Error(`attachment ${logicalId} has no Ref SecretId`);
        return secretArn(secretId);
      }
      case 'AWS::S3::Bucket':
        return generatedName(stackName.toLowerCase(), logicalId.toLowerCase(), 63);
      case 'AWS::ECS::Cluster':
        // Ref is the cluster name; CloudFormation generates `<stack>-<logical id>-<random>` (up to 255 characters).
        return generatedName(stackName, logicalId, 255);
      default:
        throw new Error(`no realistic value for Ref of ${type} (${logicalId})`);
    }
  };

  const resolveGetAtt = (logicalId: string, attribute: string): string => {
    const type = typeOf(logicalId);
    if (type === 'AWS::RDS::DBCluster' && attribute === 'Endpoint.Address') {
      // DB cluster identifiers are at most 63 characters.
      return `${generatedName(stackName.toLowerCase(), logicalId.toLowerCase(), 63)}.cluster-c1a2b3c4d5e6.${REGION}.rds.amazonaws.com`;
    }
    if (type === 'AWS::ElastiCache::ReplicationGroup' && attribute === 'PrimaryEndPoint.Address') {
      // Replication group ids are at most 40 characters.
      return `master.${generatedName(stackName.toLowerCase(), logicalId.toLowerCase(), 40)}.abc123.apne1.cache.amazonaws.com`;
    }
    throw new Error(`no realistic value for GetAtt ${type}.${attribute} (${logicalId})`);
  };

  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    const ref = refId(value);
    if (ref !== undefined) return resolveRef(ref);
    const attribute = getAtt(value);
    if (attribute) return resolveGetAtt(attribute[0], attribute[1]);
    if (isRecord(value) && Array.isArray(value['Fn::Join'])) {
      const [separator, parts] = value['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  };
  return resolve;
}
