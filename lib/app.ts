import { App, Tags } from 'aws-cdk-lib';
import { loadConfig, stackNames } from './config';
import { DifyEdgeStack } from './edge-stack';
import { applyNagSuppressions } from './nag-suppressions';
import { DifyRegionalStack } from './regional-stack';

export interface DifyApp {
  readonly edge: DifyEdgeStack;
  readonly regional: DifyRegionalStack;
}

/** Creates both stacks from the validated configuration; shared by bin/ and the tests. */
export function buildApp(app: App): DifyApp {
  const config = loadConfig(app.node);
  const names = stackNames(config);
  const account = config.account ?? process.env.CDK_DEFAULT_ACCOUNT;
  const edge = new DifyEdgeStack(app, names.edge, {
    config,
    env: { account, region: 'us-east-1' },
    crossRegionReferences: true,
    description: 'Dify serverless edge: WAF web ACL and Lambda@Edge payload signer (us-east-1)',
  });
  const regional = new DifyRegionalStack(app, names.regional, {
    config,
    env: { account, region: config.region },
    crossRegionReferences: true,
    webAclArn: edge.webAclArn,
    payloadSignerVersion: edge.payloadSignerVersion,
    description: `Dify serverless edge: ${config.hosting} hosting, data layer, backend and CloudFront`,
  });
  regional.addStackDependency(edge);
  Tags.of(app).add('project', 'dify-serverless-edge', {
    // The CloudFormation schema cfn-lint validates against has no Tags on ALB listeners and listener rules; a tag
    // there risks a failed deployment for no benefit (the load balancer itself is tagged).
    excludeResourceTypes: ['AWS::ElasticLoadBalancingV2::Listener', 'AWS::ElasticLoadBalancingV2::ListenerRule'],
  });
  applyNagSuppressions(edge, regional);
  return { edge, regional };
}
