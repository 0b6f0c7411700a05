import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from '../bundled-function';

export type PayloadSignerProps = Record<string, never>;

/**
 * The origin-request Lambda@Edge function that adds `x-amz-content-sha256` (Lambda function URLs behind OAC reject
 * unsigned payloads) and moves the viewer's Authorization out of OAC's way. Lambda@Edge forbids environment
 * variables, so settings are compiled into the bundle (edge/constants.ts); it must be x86_64, outside any VPC,
 * and deployed in us-east-1 as a numbered version. Old versions are retained: replicas of a version are deleted
 * by CloudFront only hours after it is disassociated, and deleting earlier fails the stack update.
 */
export class PayloadSigner extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly version: lambda.IVersion;

  constructor(scope: Construct, id: string, _props: PayloadSignerProps = {}) {
    super(scope, id);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.CompositePrincipal(
        new iam.ServicePrincipal('lambda.amazonaws.com'),
        new iam.ServicePrincipal('edgelambda.amazonaws.com'),
      ),
      description: 'Dify payload signer (Lambda@Edge); logs land in every region as /aws/lambda/us-east-1.<name>',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        // Replicas log in whichever region served the request, hence every region.
        resources: ['arn:aws:logs:*:*:log-group:/aws/lambda/us-east-1.*'],
      }),
    );
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Dify payload signer: x-amz-content-sha256 and Authorization relay for OAC-signed function URLs',
      entry: path.join(PROJECT_ROOT, 'edge/payload-signer/index.ts'),
      handler: 'handler',
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      projectRoot: PROJECT_ROOT,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
      // Hashing 1 MB takes a few ms; more memory buys CPU for the base64 decode at almost no cost.
      memorySize: 256,
      timeout: Duration.seconds(5),
      role,
      bundling: { minify: true, sourceMap: false, target: 'node22' },
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    this.version = this.function.currentVersion;
    // Lambda refuses to delete a function while CloudFront still has replicas of it, which it removes only hours
    // after the distribution lets go (Lambda@Edge DG "Delete Lambda@Edge functions and replicas"); the replicas keep
    // running with the role until then. Switching to `hosting: 'alb'` or destroying the stack therefore leaves the
    // function and its role behind, to delete by hand later (README "Switching hosting modes").
    this.function.applyRemovalPolicy(RemovalPolicy.RETAIN);
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
