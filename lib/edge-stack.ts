import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { DifyEdgeConfig } from './config';
import { PayloadSigner } from './constructs/payload-signer';
import { WebAcl } from './constructs/web-acl';

export interface DifyEdgeStackProps extends StackProps {
  readonly config: DifyEdgeConfig;
}

/**
 * Resources CloudFront requires in us-east-1: the CLOUDFRONT-scope web ACL with its IP sets, and the Lambda@Edge
 * payload signer's numbered version. The regional stack reads both through cross-region references.
 */
export class DifyEdgeStack extends Stack {
  readonly webAclArn: string;
  /** Undefined in `alb` hosting, where no origin needs a signed payload. */
  readonly payloadSignerVersion?: lambda.IVersion;

  constructor(scope: Construct, id: string, props: DifyEdgeStackProps) {
    super(scope, id, props);
    const { waf } = props.config;
    const webAcl = new WebAcl(this, 'WebAcl', {
      allowedIpv4Cidrs: waf.allowedIpv4Cidrs,
      allowedIpv6Cidrs: waf.allowedIpv6Cidrs,
      allowedCountries: waf.allowedCountries,
      rateLimitPer5Minutes: waf.rateLimitPer5Minutes,
      ipReputation: waf.ipReputation,
    });
    this.webAclArn = webAcl.arn;
    new CfnOutput(this, 'WebAclArn', { value: webAcl.arn, description: 'CloudFront web ACL (edit IP sets here)' });

    if (props.config.hosting === 'lambda') {
      const signer = new PayloadSigner(this, 'PayloadSigner');
      this.payloadSignerVersion = signer.version;
      new CfnOutput(this, 'PayloadSignerLogGroups', {
        value: `/aws/lambda/us-east-1.${signer.function.functionName}`,
        description: 'Lambda@Edge logs: this log group name, in the region of the edge location that served you',
      });
    }
  }
}
