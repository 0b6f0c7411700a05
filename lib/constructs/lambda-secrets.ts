import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ContainerSettings } from '../dify-environment';

/**
 * Lambda has no native secret injection, so secrets travel as references: `DIFY_EDGE_SECRETS` maps an env var to
 * `<secret ARN>` or `<secret ARN>#<json field>`, and the image's loader fetches them all in one
 * BatchGetSecretValue call at start (functions/dify-api-image/secrets_loader.py). Only ARNs are in the template.
 */
export function lambdaSecretEnvironment(
  scope: Construct,
  settings: ContainerSettings,
  grantee: iam.IGrantable,
): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const [name, ref] of Object.entries(settings.secrets)) {
    refs[name] = ref.field ? `${ref.secret.secretArn}#${ref.field}` : ref.secret.secretArn;
    ref.secret.grantRead(grantee);
  }
  const stack = Stack.of(scope);
  return {
    ...settings.environment,
    DIFY_EDGE_SECRETS: stack.toJsonString(refs),
    DIFY_EDGE_TEMPLATES: stack.toJsonString(settings.templates),
  };
}
