import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as path from 'node:path';
import { Construct } from 'constructs';

/** Project root, so entries are found the same way from bin/, tests and the CLI. */
export const PROJECT_ROOT = path.join(__dirname, '..');

export interface BundledFunctionProps extends Omit<nodejs.NodejsFunctionProps, 'entry' | 'runtime'> {
  /** Source file relative to the project root, e.g. `functions/migration-runner/index.ts`. */
  readonly source: string;
}

/**
 * A Node.js Lambda bundled by the local esbuild (no Docker). The AWS SDK v3 comes from the runtime, which keeps the
 * bundles small; log groups get a retention so nothing is kept forever by default.
 */
export function bundledFunction(scope: Construct, id: string, props: BundledFunctionProps): nodejs.NodejsFunction {
  const { source, bundling, ...rest } = props;
  return new nodejs.NodejsFunction(scope, id, {
    entry: path.join(PROJECT_ROOT, source),
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    projectRoot: PROJECT_ROOT,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    timeout: Duration.minutes(1),
    memorySize: 256,
    logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_MONTH }),
    ...rest,
    bundling: { minify: true, sourceMap: false, target: 'node24', ...bundling },
  });
}
