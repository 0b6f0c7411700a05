import { CustomResource, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { bundledFunction } from '../bundled-function';
import { acknowledgeProviderInvokes } from '../nag-suppressions';

/**
 * The fields of Dify's one secret and the length generated for each. Alphanumeric only: they end up inside URLs
 * (Redis) and HTTP headers, where punctuation needs escaping.
 */
export const DIFY_SECRET_FIELDS = {
  /** Flask SECRET_KEY: signs sessions and tokens (provider credentials use per-workspace RSA keys in the bucket). */
  secretKey: 48,
  /** dify-sandbox API_KEY = api CODE_EXECUTION_API_KEY. */
  sandboxApiKey: 40,
  /** plugin daemon SERVER_KEY = api PLUGIN_DAEMON_KEY. */
  pluginDaemonKey: 40,
  /** api INNER_API_KEY_FOR_PLUGIN = plugin daemon DIFY_INNER_API_KEY. */
  innerApiKey: 40,
  /** ElastiCache AUTH token (16-128 printable characters; ElastiCache User Guide "AUTH"). */
  redisAuthToken: 40,
  /**
   * Dify INIT_PASSWORD: asked for before the first admin account can be created, so whoever reaches a fresh site
   * first cannot take it over. Dify accepts at most 30 characters (api/controllers/console/init_validate.py).
   */
  initPassword: 24,
} as const;

export type DifySecretField = keyof typeof DIFY_SECRET_FIELDS;

export interface DifySecretsProps {
  /**
   * Keep the secret when the stack is deleted (a restored database expects the same keys as before).
   * @default true
   */
  readonly retainData?: boolean;
}

/**
 * The keys Dify's services share, in ONE Secrets Manager secret with a JSON field per key. The values are generated
 * at deploy time by a small custom resource (functions/dify-secret-values), so no value ever appears in a template;
 * existing values are never replaced. Consumers read single fields: ECS `secrets` with a JSON key, the api
 * function's loader one field each from the same single BatchGetSecretValue call (docs/adr/0005).
 */
export class DifySecrets extends Construct {
  readonly secret: secretsmanager.Secret;
  /** Completes once every field holds a value; anything that reads a field at deploy time depends on it. */
  readonly ready: CustomResource;

  constructor(scope: Construct, id: string, props: DifySecretsProps = {}) {
    super(scope, id);
    const removalPolicy = (props.retainData ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description:
        'Dify shared keys (JSON: secretKey, sandboxApiKey, pluginDaemonKey, innerApiKey, redisAuthToken, initPassword)',
      removalPolicy,
      // Secrets Manager generates the first field itself; the custom resource adds the others next to it. Keep these
      // properties as they are: CloudFormation regenerates the WHOLE value when GenerateSecretString changes.
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'secretKey',
        passwordLength: DIFY_SECRET_FIELDS.secretKey,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    const fn = bundledFunction(this, 'SecretValuesFunction', {
      source: 'functions/dify-secret-values/index.ts',
      handler: 'onEvent',
      description: "Generates the missing fields of Dify's shared secret",
    });
    this.secret.grantRead(fn);
    this.secret.grantWrite(fn);
    const provider = new cr.Provider(this, 'SecretValuesProvider', { onEventHandler: fn });
    acknowledgeProviderInvokes(provider, [fn]);
    this.ready = new CustomResource(this, 'Values', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DifySecretValues',
      properties: { SecretArn: this.secret.secretArn, Fields: JSON.stringify(DIFY_SECRET_FIELDS) },
    });
  }

  /** One field as a CloudFormation dynamic reference (resolved by CloudFormation at deploy time, never stored). */
  fieldValue(field: DifySecretField): SecretValue {
    return this.secret.secretValueFromJson(field);
  }
}
