import { Duration, Stage } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SITE_URL_SECRET_VARIABLE } from '../../functions/shared/site-url-secret';
import { WEB_PORT } from '../dify-environment';
import { webImageContext } from '../web-image-context';
import { LIVE_ALIAS } from './api-function';

export interface WebFunctionProps {
  /** langgenius/dify-web tag the image is built from (same as the api's). */
  readonly difyVersion: string;
  /** Environment of the Next.js server (see webSettings). */
  readonly environment: Record<string, string>;
  /** Holds the public site URL; the image reads it at start into CONSOLE_API_URL and APP_API_URL. */
  readonly siteUrlSecret: secretsmanager.ISecret;
  /**
   * Memory in MB.
   * @default 1024
   */
  readonly memoryMb?: number;
}

/**
 * Dify's web front end (Next.js) on Lambda through the Lambda Web Adapter. It needs no VPC: the browser talks to
 * the api through CloudFront, and server-side rendering reads nothing private.
 */
export class WebFunction extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly alias: lambda.Alias;
  readonly url: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: WebFunctionProps) {
    super(scope, id);
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      description: `Dify web ${props.difyVersion} (Lambda Web Adapter, response streaming)`,
      code: lambda.DockerImageCode.fromImageAsset(webImageContext(Stage.of(this)?.outdir ?? '.'), {
        buildArgs: { DIFY_VERSION: props.difyVersion },
        platform: ecrAssets.Platform.LINUX_AMD64,
      }),
      architecture: lambda.Architecture.X86_64,
      memorySize: props.memoryMb ?? 1024,
      timeout: Duration.seconds(60),
      environment: {
        ...props.environment,
        [SITE_URL_SECRET_VARIABLE]: props.siteUrlSecret.secretArn,
        AWS_LWA_PORT: String(WEB_PORT),
        // Any answer below 500 (a 200, or a redirect to /signin) means Next.js is up: the adapter's default.
        AWS_LWA_READINESS_CHECK_PATH: '/apps',
        AWS_LWA_ASYNC_INIT: 'true',
        AWS_LWA_INVOKE_MODE: 'response_stream',
      },
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
    });
    props.siteUrlSecret.grantRead(this.function);
    this.alias = new lambda.Alias(this, 'LiveAlias', { aliasName: LIVE_ALIAS, version: this.function.currentVersion });
    this.url = this.alias.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
  }
}
