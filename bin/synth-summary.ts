/**
 * Prints what `npm run synth` produced: where the templates are, which stacks exist, and what would be deployed.
 * Reads only cdk.out, so it needs no AWS credentials.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LLRT_BINARY_METADATA_KEY, LLRT_PLACEHOLDER, OFFLINE_LLRT_CONTEXT_KEY } from '../lib/llrt-binary';

interface ManifestArtifact {
  type: string;
  environment?: string;
  properties?: { templateFile?: string; stackName?: string };
  displayName?: string;
}
interface Template {
  Description?: string;
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, { Description?: string }>;
}

/** Resource types worth naming in the summary, in the order a reader cares about them. */
const HIGHLIGHTS: Array<[string, string]> = [
  ['AWS::CloudFront::Distribution', 'CloudFront distribution'],
  ['AWS::WAFv2::WebACL', 'WAF web ACL'],
  ['AWS::WAFv2::IPSet', 'WAF IP set'],
  ['AWS::CloudFront::Function', 'CloudFront Function'],
  ['AWS::Lambda::Function', 'Lambda function'],
  ['AWS::Lambda::Url', 'Lambda function URL'],
  ['AWS::ECS::Service', 'ECS service'],
  ['AWS::ECS::TaskDefinition', 'ECS task definition'],
  ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'Application Load Balancer'],
  ['AWS::RDS::DBCluster', 'Aurora cluster'],
  ['AWS::ElastiCache::ReplicationGroup', 'Valkey replication group'],
  ['AWS::S3::Bucket', 'S3 bucket'],
  ['AWS::EFS::FileSystem', 'EFS file system (plugin daemon working path)'],
  ['AWS::Events::Rule', 'EventBridge rule'],
  ['AWS::SecretsManager::Secret', 'Secrets Manager secret'],
  ['AWS::EC2::Instance', 'EC2 instance (NAT)'],
  ['AWS::EC2::NatGateway', 'NAT gateway'],
];

/**
 * The public images the stack's container images are built from, read from its asset manifest: the ECR copies
 * (build argument SOURCE_IMAGE) and the Lambda images (FROM langgenius/dify-<api|web>:DIFY_VERSION).
 */
function containerImages(outdir: string, artifactId: string): string[] {
  const file = path.join(outdir, `${artifactId}.assets.json`);
  if (!fs.existsSync(file)) return [];
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    dockerImages?: Record<string, { displayName?: string; source: { dockerBuildArgs?: Record<string, string> } }>;
  };
  const names = Object.values(manifest.dockerImages ?? {}).map(({ displayName, source }) => {
    const args = source.dockerBuildArgs ?? {};
    if (args.SOURCE_IMAGE) return `${args.SOURCE_IMAGE} (ECS)`;
    if (/(^|\/)DifyWorker(\/|$)/.test(displayName ?? '') && args.DIFY_VERSION) {
      return `langgenius/dify-api:${args.DIFY_VERSION} + running-task hook (ECS workers)`;
    }
    const kind = /^(Api|Web)\//.exec(displayName ?? '')?.[1]?.toLowerCase();
    return kind && args.DIFY_VERSION
      ? `langgenius/dify-${kind}:${args.DIFY_VERSION} + Web Adapter (Lambda)`
      : undefined;
  });
  return [...new Set(names.filter((name): name is string => name !== undefined))].sort();
}

export function summarize(outdir: string): string {
  const manifestPath = path.join(outdir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) {
    throw new Error(`${manifestPath} not found: run \`npx cdk synth\` first`);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { artifacts: Record<string, ManifestArtifact> };
  const lines: string[] = [`Templates are in ${path.resolve(outdir)}`, ''];
  const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  let placeholders = 0;
  for (const [id, artifact] of stacks) {
    const file = path.join(outdir, artifact.properties?.templateFile ?? `${id}.template.json`);
    const template = JSON.parse(fs.readFileSync(file, 'utf8')) as Template;
    const resources = Object.values(template.Resources ?? {});
    const region = artifact.environment?.split('/').pop() ?? 'unknown-region';
    lines.push(`Stack ${artifact.properties?.stackName ?? id} (${region}): ${resources.length} resources`);
    lines.push(`  template: ${path.relative(process.cwd(), file)}`);
    if (template.Description) lines.push(`  ${template.Description}`);
    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.Type, (counts.get(r.Type) ?? 0) + 1);
    for (const [type, label] of HIGHLIGHTS) {
      const n = counts.get(type);
      if (n) lines.push(`  - ${n} × ${label}`);
    }
    const images = containerImages(outdir, id);
    if (images.length > 0) lines.push(`  - container images (built at deploy, pushed to ECR): ${images.join(', ')}`);
    // LLRT functions synthesized offline carry a stand-in instead of the runtime (lib/llrt-function.ts).
    const llrtPlaceholders = Object.entries(template.Resources ?? {})
      .filter(([, r]) => r.Metadata?.[LLRT_BINARY_METADATA_KEY] === LLRT_PLACEHOLDER)
      .map(([logicalId]) => logicalId);
    if (llrtPlaceholders.length > 0) {
      placeholders += llrtPlaceholders.length;
      lines.push(
        `  ! NOT DEPLOYABLE: ${llrtPlaceholders.join(', ')} hold(s) an LLRT placeholder, not the runtime ` +
          `(synthesized with -c ${OFFLINE_LLRT_CONTEXT_KEY}=true)`,
      );
    }
    const outputs = Object.keys(template.Outputs ?? {}).filter((o) => !o.startsWith('Export'));
    if (outputs.length > 0) lines.push(`  - outputs: ${outputs.join(', ')}`);
    lines.push('');
  }
  if (placeholders > 0) {
    lines.push(
      `These templates are not deployable: ${placeholders} LLRT function(s) got a placeholder binary because the offline ` +
        `switch was on. \`npx cdk deploy\` (without -c ${OFFLINE_LLRT_CONTEXT_KEY}=true) downloads the pinned LLRT ` +
        'release while bundling, which needs internet access.',
    );
  }
  lines.push('Deploy with: npx cdk bootstrap (us-east-1 and your region), then npx cdk deploy --all');
  return lines.join('\n');
}

if (require.main === module) {
  try {
    console.log(summarize(process.argv[2] ?? 'cdk.out'));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
