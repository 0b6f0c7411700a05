import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LlrtBinaryType, LlrtFunction, type LlrtFunctionProps } from 'cdk-lambda-llrt';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './bundled-function';
import {
  LLRT_BINARY_METADATA_KEY,
  LLRT_PLACEHOLDER,
  LLRT_PLACEHOLDER_BINARY,
  LLRT_VERSION,
  OFFLINE_LLRT_CONTEXT_KEY,
} from './llrt-binary';

export { LLRT_BINARY_METADATA_KEY, LLRT_PLACEHOLDER, LLRT_PLACEHOLDER_BINARY, LLRT_VERSION, OFFLINE_LLRT_CONTEXT_KEY };

/**
 * SDK v3 packages LLRT's standard build ships as part of the runtime (`sdk.cfg` of LLRT v0.8.1-beta, the rows
 * marked `0`: "bundle for both std-sdk and full-sdk"). Anything else, e.g. `@aws-sdk/client-bedrock-agent-runtime`,
 * has to be bundled with the function.
 */
export const LLRT_STANDARD_SDK_PACKAGES = [
  '@aws-sdk/client-cloudwatch-events',
  '@aws-sdk/client-cloudwatch-logs',
  '@aws-sdk/client-cognito-identity',
  '@aws-sdk/client-cognito-identity-provider',
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/client-eventbridge',
  '@aws-sdk/client-kms',
  '@aws-sdk/client-lambda',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-ses',
  '@aws-sdk/client-sfn',
  '@aws-sdk/client-sns',
  '@aws-sdk/client-sqs',
  '@aws-sdk/client-ssm',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-xray',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/lib-storage',
] as const;
export type LlrtStandardSdkPackage = (typeof LLRT_STANDARD_SDK_PACKAGES)[number];

/** True when the offline switch is set (`-c difyEdgeOfflineLlrt=true` arrives as a string, tests pass a boolean). */
export function llrtOffline(scope: Construct): boolean {
  const value: unknown = scope.node.tryGetContext(OFFLINE_LLRT_CONTEXT_KEY);
  return value === true || value === 'true';
}

/**
 * esbuild settings of every LLRT function, shared with the tests that bundle a handler the same way.
 *
 * - `browser` platform: LLRT has no `http`/`https` modules (LLRT README, compatibility matrix: "Use fetch
 *   instead"), and a bundled SDK client picks its fetch-based runtime config only for browsers.
 * - Only the SDK packages the runtime provides and the function imports stay external; a bundled client brings its
 *   own `@smithy/*` and `@aws-sdk/core` (cdk-lambda-llrt's default externals would leave those to the runtime,
 *   whose copies are older than the bundled client expects).
 */
export function llrtBundling(runtimeProvidedSdk: readonly LlrtStandardSdkPackage[]) {
  return {
    format: nodejs.OutputFormat.ESM,
    target: 'es2022',
    platform: 'browser' as const,
    minify: true,
    sourceMap: false,
    external: [...runtimeProvidedSdk],
  };
}

export interface LlrtFunctionHelperProps extends Omit<
  LlrtFunctionProps,
  'entry' | 'runtime' | 'llrtVersion' | 'llrtBinaryPath' | 'llrtBinaryType' | 'useLambdaLayer' | 'bundling'
> {
  /** Source file relative to the project root, e.g. `functions/bedrock-knowledge/index.ts`. */
  readonly source: string;
  /**
   * SDK packages the function imports that LLRT provides (left out of the bundle).
   * @default [] (every import is bundled)
   */
  readonly runtimeProvidedSdk?: readonly LlrtStandardSdkPackage[];
}

/**
 * A Lambda function on LLRT (custom runtime `provided.al2023`, arm64) built with cdk-lambda-llrt's LlrtFunction:
 * the pinned LLRT release, or the placeholder when the offline switch is on. Log groups get a retention.
 */
export function llrtFunction(scope: Construct, id: string, props: LlrtFunctionHelperProps): LlrtFunction {
  const { source, runtimeProvidedSdk = [], ...rest } = props;
  const offline = llrtOffline(scope);
  const bundling = llrtBundling(runtimeProvidedSdk);
  const fn = new LlrtFunction(scope, id, {
    entry: path.join(PROJECT_ROOT, source),
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    projectRoot: PROJECT_ROOT,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 128,
    timeout: Duration.seconds(10),
    logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
    ...rest,
    llrtBinaryType: LlrtBinaryType.STANDARD,
    ...(offline ? { llrtBinaryPath: LLRT_PLACEHOLDER_BINARY } : { llrtVersion: LLRT_VERSION }),
    bundling: {
      format: bundling.format,
      target: bundling.target,
      minify: bundling.minify,
      sourceMap: bundling.sourceMap,
      externalModules: bundling.external,
      esbuildArgs: { '--platform': bundling.platform },
    },
  });
  const resource = fn.node.defaultChild as lambda.CfnFunction;
  // LlrtFunction only overrides the rendered property; set it on the L1 too so checks that read the construct
  // (cdk-nag) see the runtime that is deployed.
  resource.runtime = 'provided.al2023';
  resource.addMetadata(LLRT_BINARY_METADATA_KEY, offline ? LLRT_PLACEHOLDER : LLRT_VERSION);
  return fn;
}
