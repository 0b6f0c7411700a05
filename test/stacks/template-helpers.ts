import { Template } from 'aws-cdk-lib/assertions';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SynthesizedDifyApp, synthDifyApp } from '../support/synth';

/** The parts of a synthesized CloudFormation resource these tests read. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Description?: string }>;
}

/** One ECS container definition as CloudFormation renders it. */
export interface ContainerDefinition {
  readonly Name: string;
  readonly Image?: unknown;
  readonly Environment?: Array<{ readonly Name: string; readonly Value: unknown }>;
  readonly Secrets?: Array<{ readonly Name: string; readonly ValueFrom: unknown }>;
  readonly EntryPoint?: string[];
  readonly Command?: unknown[];
  readonly StopTimeout?: number;
  readonly HealthCheck?: { readonly Command?: string[] };
  readonly LogConfiguration?: { readonly LogDriver: string; readonly Options?: Record<string, unknown> };
}

/** A synthesized app with both templates as plain JSON. */
export interface SynthesizedTemplates {
  readonly synthesized: SynthesizedDifyApp;
  readonly regional: CfnTemplate;
  readonly edge: CfnTemplate;
}

const synthOutdirs: string[] = [];

export interface SynthOptions {
  /**
   * Bundle the Node.js functions (custom resources, payload signer) with esbuild as `cdk synth` does. Off by default:
   * bundling only changes the asset hashes in the templates, and it costs about a second per synth.
   * @default false
   */
  readonly bundle?: boolean;
}

const PROJECT_ROOT = path.join(__dirname, '..', '..');
/** Everything a synthesized template can depend on: if none of it changed, neither did the template. */
const SYNTH_INPUTS = ['lib', 'functions', 'edge', 'bin', 'cdk.json', 'package-lock.json', 'test/support'];
/** Environment variables the CDK app or the CDK itself reads while synthesizing. */
const SYNTH_ENVIRONMENT = ['CDK_DEFAULT_ACCOUNT', 'CDK_DEFAULT_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'];

function hashInputs(hash: ReturnType<typeof createHash>, file: string): void {
  const stat = fs.statSync(file);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(file).sort()) {
      if (entry === 'node_modules' || entry === '__pycache__') continue;
      hashInputs(hash, path.join(file, entry));
    }
    return;
  }
  hash.update(path.relative(PROJECT_ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
}

let inputsHash: string | undefined;
/** One hash of the synth inputs per test file (jest gives each file its own module registry). */
function synthInputsHash(): string {
  if (inputsHash === undefined) {
    const hash = createHash('sha256');
    for (const input of SYNTH_INPUTS) {
      const file = path.join(PROJECT_ROOT, input);
      if (fs.existsSync(file)) hashInputs(hash, file);
    }
    for (const name of SYNTH_ENVIRONMENT) hash.update(`${name}=${process.env[name] ?? ''}\0`);
    inputsHash = hash.digest('hex').slice(0, 24);
  }
  return inputsHash;
}

/**
 * Where synthesized templates are kept between test files of one run (and later runs with the same sources): most
 * test files synthesize the default configuration, and one synth costs several seconds on a 2-core machine. The key
 * is the hash of every synth input and of the overrides, so a changed source never reads a stale template.
 * DIFY_EDGE_SYNTH_CACHE=off turns it off.
 */
function cacheFile(overrides: Record<string, unknown>, options: SynthOptions): string | undefined {
  if (process.env.DIFY_EDGE_SYNTH_CACHE === 'off') return undefined;
  const key = createHash('sha256')
    .update(JSON.stringify({ overrides, bundle: options.bundle === true }))
    .digest('hex')
    .slice(0, 24);
  return path.join(os.tmpdir(), 'dify-edge-synth-cache', synthInputsHash(), `${key}.json`);
}

function synthesize(overrides: Record<string, unknown>, options: SynthOptions): SynthesizedDifyApp {
  // The App reads extra context from CDK_CONTEXT_JSON, the way the CLI passes it. The CLI sets
  // `aws:cdk:bundling-stacks` to the stacks it is about to deploy; an empty list bundles none. Jest gives every test
  // file its own copy of process.env, and the previous value is restored right after the synth anyway.
  const previous = process.env.CDK_CONTEXT_JSON;
  if (!options.bundle) process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:bundling-stacks': [] });
  let synthesized: SynthesizedDifyApp;
  try {
    synthesized = synthDifyApp(overrides);
  } finally {
    if (previous === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = previous;
  }
  synthOutdirs.push(synthesized.app.outdir);
  return synthesized;
}

/**
 * Synthesizes the real app (callers keep the result for a whole describe block) and remembers its cloud assembly
 * directory so {@link removeSynthOutputs} can delete it. The templates may come from the synth cache (see
 * cacheFile); `synthesized` (the App, its assembly directory) is then built on first access.
 */
export function synthTemplates(
  overrides: Record<string, unknown> = {},
  options: SynthOptions = {},
): SynthesizedTemplates {
  const file = cacheFile(overrides, options);
  if (file !== undefined && fs.existsSync(file)) {
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as { regional: CfnTemplate; edge: CfnTemplate };
    let app: SynthesizedDifyApp | undefined;
    return {
      get synthesized() {
        app ??= synthesize(overrides, options);
        return app;
      },
      regional: cached.regional,
      edge: cached.edge,
    };
  }
  const synthesized = synthesize(overrides, options);
  const result = {
    synthesized,
    regional: templateJson(synthesized.regionalTemplate),
    edge: templateJson(synthesized.edgeTemplate),
  };
  if (file !== undefined) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Write then rename: a reader never sees half a file, even with several jest workers.
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, JSON.stringify({ regional: result.regional, edge: result.edge }));
    fs.renameSync(partial, file);
  }
  return result;
}

/** Deletes the cloud assemblies written by {@link synthTemplates} (each stages the Docker contexts of the images). */
export function removeSynthOutputs(): void {
  for (const dir of synthOutdirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function templateJson(template: Template): CfnTemplate {
  return template.toJSON() as CfnTemplate;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** The one resource of `type`; fails the test with the count when there is not exactly one. */
export function onlyResource(template: CfnTemplate, type: string): [string, CfnResource] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type}, found ${found.length}: ${found.map(([id]) => id).join(', ')}`);
  }
  return found[0];
}

export function resource(template: CfnTemplate, logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource with logical ID ${logicalId}`);
  return found;
}

export function propsOf(cfnResource: CfnResource): Record<string, unknown> {
  return cfnResource.Properties ?? {};
}

/** Reads a nested property such as `['DistributionConfig', 'Origins']`; undefined when any step is missing. */
export function at(value: unknown, ...path: Array<string | number>): unknown {
  let current: unknown = value;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (!isRecord(current)) return undefined;
      current = current[step];
    }
  }
  return current;
}

export function asArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${JSON.stringify(value)}`);
  return value;
}

/** Logical ID named by `{ Ref: id }`, else undefined. */
export function refId(value: unknown): string | undefined {
  return isRecord(value) && typeof value.Ref === 'string' ? value.Ref : undefined;
}

/** `[logicalId, attribute]` of `{ 'Fn::GetAtt': [id, attr] }`, else undefined. */
export function getAtt(value: unknown): [string, string] | undefined {
  const args = isRecord(value) ? value['Fn::GetAtt'] : undefined;
  return Array.isArray(args) && typeof args[0] === 'string' && typeof args[1] === 'string'
    ? [args[0], args[1]]
    : undefined;
}

/**
 * Renders a CloudFormation value as text: `Fn::Join` is joined, `Ref` becomes `<Ref:Id>`, `Fn::GetAtt` becomes
 * `<GetAtt:Id.Attr>`. Lets a test read composed strings (URLs, JSON maps, shell commands) as a whole.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const ref = refId(value);
  if (ref !== undefined) return `<Ref:${ref}>`;
  const attribute = getAtt(value);
  if (attribute) return `<GetAtt:${attribute[0]}.${attribute[1]}>`;
  if (isRecord(value) && Array.isArray(value['Fn::Join'])) {
    const [separator, parts] = value['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  return JSON.stringify(value);
}

export function dependsOn(cfnResource: CfnResource): string[] {
  const value = cfnResource.DependsOn;
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function outputValue(template: CfnTemplate, name: string): unknown {
  const output = template.Outputs?.[name];
  if (!output) throw new Error(`no output ${name}; outputs are ${Object.keys(template.Outputs ?? {}).join(', ')}`);
  return output.Value;
}

/** Logical ID that an output such as `ApiFunctionName` refers to (by Ref or GetAtt). */
export function outputTarget(template: CfnTemplate, name: string): string {
  const value = outputValue(template, name);
  const target = refId(value) ?? getAtt(value)?.[0];
  if (!target) throw new Error(`output ${name} does not reference a resource: ${JSON.stringify(value)}`);
  return target;
}

export function containersOf(taskDefinition: CfnResource): ContainerDefinition[] {
  return asArray(propsOf(taskDefinition).ContainerDefinitions) as ContainerDefinition[];
}

export function container(taskDefinition: CfnResource, name: string): ContainerDefinition {
  const found = containersOf(taskDefinition).find((c) => c.Name === name);
  if (!found) throw new Error(`task definition has no container ${name}`);
  return found;
}

export function environmentOf(definition: ContainerDefinition): Record<string, unknown> {
  return Object.fromEntries((definition.Environment ?? []).map((entry) => [entry.Name, entry.Value]));
}

export function secretsOf(definition: ContainerDefinition): Record<string, unknown> {
  return Object.fromEntries((definition.Secrets ?? []).map((entry) => [entry.Name, entry.ValueFrom]));
}

export function lambdaEnvironment(fn: CfnResource): Record<string, unknown> {
  const variables = at(propsOf(fn), 'Environment', 'Variables');
  return isRecord(variables) ? variables : {};
}

/** Every string leaf of a JSON value with its path, e.g. `Resources.X.Properties.AuthToken.Fn::Join.1.0`. */
export function stringLeaves(value: unknown, path: string[] = []): Array<{ path: string[]; value: string }> {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringLeaves(item, [...path, String(i)]));
  if (isRecord(value)) return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, [...path, key]));
  return [];
}

/**
 * Follows a value the regional stack reads from the us-east-1 stack (`Fn::GetAtt` on the cross-region export reader)
 * back to what the edge stack's export writer exports under that name.
 */
export function crossRegionExport(regional: CfnTemplate, edge: CfnTemplate, value: unknown): unknown {
  const attribute = getAtt(value);
  if (!attribute) throw new Error(`not a cross-region import: ${JSON.stringify(value)}`);
  const [readerId, exportName] = attribute;
  if (resource(regional, readerId).Type !== 'Custom::CrossRegionExportReader') {
    throw new Error(`${readerId} is not the cross-region export reader`);
  }
  const [, writer] = onlyResource(edge, 'Custom::CrossRegionExportWriter');
  const exported = at(propsOf(writer), 'WriterProps', 'exports', exportName);
  if (exported === undefined) throw new Error(`the edge stack exports nothing named ${exportName}`);
  return exported;
}

/** Ingress rules of a security group, inline and standalone, as `{ port, sourceGroup, cidr }`. */
export interface IngressRule {
  readonly protocol: unknown;
  readonly fromPort: unknown;
  readonly toPort: unknown;
  readonly sourceGroup?: string;
  readonly cidr?: unknown;
}

export function ingressRulesOf(template: CfnTemplate, securityGroupId: string): IngressRule[] {
  const toRule = (rule: Record<string, unknown>): IngressRule => ({
    protocol: rule.IpProtocol,
    fromPort: rule.FromPort,
    toPort: rule.ToPort,
    sourceGroup: getAtt(rule.SourceSecurityGroupId)?.[0],
    cidr: rule.CidrIp ?? rule.CidrIpv6,
  });
  const inline = asArrayOrEmpty(propsOf(resource(template, securityGroupId)).SecurityGroupIngress)
    .filter(isRecord)
    .map(toRule);
  const standalone = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')
    .map(([, rule]) => propsOf(rule))
    .filter((rule) => getAtt(rule.GroupId)?.[0] === securityGroupId)
    .map(toRule);
  return [...inline, ...standalone];
}

function asArrayOrEmpty(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The one security group ID referenced as `Fn::GetAtt [sg, GroupId]` in a list. */
export function onlySecurityGroup(list: unknown): string {
  const ids = asArray(list).map((item) => getAtt(item)?.[0]);
  if (ids.length !== 1 || ids[0] === undefined)
    throw new Error(`expected one security group, got ${JSON.stringify(list)}`);
  return ids[0];
}

/**
 * The api function's secret references as `{ ENV_VAR: '<Ref:SecretId>#field' }`: DIFY_EDGE_SECRETS names secrets
 * by alias, and DIFY_EDGE_SECRET_IDS maps each alias to its ARN (functions/dify-api-image/secrets_loader.py).
 */
export function lambdaSecretRefs(environment: Record<string, unknown>): Record<string, string> {
  const aliases = JSON.parse(flatten(environment.DIFY_EDGE_SECRET_IDS)) as Record<string, string>;
  const refs = JSON.parse(flatten(environment.DIFY_EDGE_SECRETS)) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(refs).map(([name, reference]) => {
      const [alias, ...field] = reference.split('#');
      const secret = aliases[alias];
      if (secret === undefined) throw new Error(`${name} names alias ${alias}, which DIFY_EDGE_SECRET_IDS lacks`);
      return [name, [secret, ...field].join('#')];
    }),
  );
}

/** The one Lambda function whose description starts with `description` (e.g. 'Dify api', 'Dify web'). */
export function functionByDescription(template: CfnTemplate, description: string): [string, CfnResource] {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) =>
    String(fn.Properties?.Description ?? '').startsWith(description),
  );
  if (found.length !== 1) throw new Error(`${found.length} functions described "${description}…", expected 1`);
  return found[0];
}
