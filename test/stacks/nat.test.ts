import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import { NAT_AMI_NOT_PINNED_WARNING } from '../../lib/constructs/network';
import { SynthesizedDifyApp, synthDifyApp } from '../support/synth';
import {
  CfnTemplate,
  dependsOn,
  getAtt,
  onlyResource,
  outputValue,
  propsOf,
  refId,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
  templateJson,
} from './template-helpers';

const ACCOUNT = '123456789012';
/** The key `cdk deploy` writes into cdk.context.json for the NAT AMI (SSM public parameter lookup). */
const AMI_CONTEXT_KEY =
  `ssm:account=${ACCOUNT}:parameterName=/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64` +
  ':region=ap-northeast-1';
/** A stand-in for the AMI id the CLI would store; only this test uses it. */
const CACHED_AMI = 'ami-0123456789abcdef0';
/** A VPC in a stack with an account looks its AZs up too, under this key. */
const AZ_CONTEXT_KEY = `availability-zones:account=${ACCOUNT}:region=ap-northeast-1`;

const outdirs: string[] = [];
afterAll(() => {
  removeSynthOutputs();
  for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes with extra CDK context (as cdk.context.json supplies it), without bundling. */
function synthWithContext(overrides: Record<string, unknown>, context: Record<string, unknown>): SynthesizedDifyApp {
  const previous = process.env.CDK_CONTEXT_JSON;
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context });
  try {
    const synthesized = synthDifyApp(overrides);
    outdirs.push(synthesized.app.outdir);
    return synthesized;
  } finally {
    if (previous === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = previous;
  }
}

/** Template parameters (the SSM-backed AMI parameter lives there). */
function parameters(template: CfnTemplate): Record<string, { readonly Default?: unknown }> {
  return (template as CfnTemplate & { Parameters?: Record<string, { Default?: unknown }> }).Parameters ?? {};
}

function natInstance(template: CfnTemplate): [string, Record<string, unknown>] {
  const [id, instance] = onlyResource(template, 'AWS::EC2::Instance');
  return [id, propsOf(instance)];
}

function unpinnedWarnings(synthesized: SynthesizedDifyApp) {
  return Annotations.fromStack(synthesized.regional).findWarning(
    '*',
    Match.stringLikeRegexp(`NAT instance AMI is not pinned.*${NAT_AMI_NOT_PINNED_WARNING}`),
  );
}

describe('NAT instance with an account (as on cdk deploy)', () => {
  const synthesized = synthWithContext(
    { account: ACCOUNT },
    { [AMI_CONTEXT_KEY]: CACHED_AMI, [AZ_CONTEXT_KEY]: ['ap-northeast-1a', 'ap-northeast-1c'] },
  );
  const regional = templateJson(synthesized.regionalTemplate);

  test('the AMI is the id stored in context, a literal: a newly published AMI changes nothing', () => {
    expect(natInstance(regional)[1].ImageId).toBe(CACHED_AMI);
    expect(Object.keys(parameters(regional)).filter((p) => p.startsWith('SsmParameterValue'))).toEqual([]);
    expect(unpinnedWarnings(synthesized)).toEqual([]);
    expect(synthesized.app.synth().manifest.missing ?? []).toEqual([]);
  });

  test('without the context entry, synth asks the CLI for exactly that key (what cdk.context.json will hold)', () => {
    const fresh = synthWithContext({ account: ACCOUNT }, {});
    const missing = fresh.app.synth().manifest.missing ?? [];
    expect(missing.map((m) => [m.key, m.provider])).toContainEqual([AMI_CONTEXT_KEY, 'ssm']);
  });
});

describe('NAT instance without an account (offline synth)', () => {
  const { synthesized, regional } = synthTemplates();

  test('the AMI is resolved from the SSM parameter at deploy time, and synth warns that it is not pinned', () => {
    const imageId = natInstance(regional)[1].ImageId;
    const parameter = refId(imageId) ?? '';
    expect(parameter).toMatch(/^SsmParameterValue/);
    expect(parameters(regional)[parameter]?.Default).toBe(
      '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64',
    );
    expect(unpinnedWarnings(synthesized)).toHaveLength(1);
  });

  test('an Elastic IP follows the NAT instance and is the NatEgressIp output', () => {
    const [instanceId] = natInstance(regional);
    const eips = resourcesOfType(regional, 'AWS::EC2::EIP');
    expect(eips).toHaveLength(1);
    const [eipId, eip] = eips[0];
    expect(refId(propsOf(eip).InstanceId)).toBe(instanceId);
    const [attachmentId] = onlyResource(regional, 'AWS::EC2::VPCGatewayAttachment');
    expect(dependsOn(eip)).toContain(attachmentId);
    expect(getAtt(outputValue(regional, 'NatEgressIp'))).toEqual([eipId, 'PublicIp']);
    // The private subnets' default routes go through that instance.
    const routes = resourcesOfType(regional, 'AWS::EC2::Route').filter(([, r]) => propsOf(r).InstanceId);
    expect(routes.map(([, r]) => refId(propsOf(r).InstanceId))).toEqual([instanceId, instanceId]);
  });
});

describe('NAT gateway mode', () => {
  const { synthesized, regional } = synthTemplates({ nat: 'gateway' });

  test("NatEgressIp is the gateway's Elastic IP; no AMI, no warning", () => {
    const [, gateway] = onlyResource(regional, 'AWS::EC2::NatGateway');
    const [eipId] = getAtt(propsOf(gateway).AllocationId) ?? [];
    expect(resourcesOfType(regional, 'AWS::EC2::EIP').map(([id]) => id)).toEqual([eipId]);
    expect(getAtt(outputValue(regional, 'NatEgressIp'))).toEqual([eipId, 'PublicIp']);
    expect(resourcesOfType(regional, 'AWS::EC2::Instance')).toEqual([]);
    expect(unpinnedWarnings(synthesized)).toEqual([]);
  });
});
