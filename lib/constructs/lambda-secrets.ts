import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ContainerSettings } from '../dify-environment';

/**
 * Lambda has no native secret injection, so secrets travel as references: `DIFY_EDGE_SECRET_IDS` names each secret
 * ARN once under a short alias, `DIFY_EDGE_SECRETS` maps an env var to `<alias>` or `<alias>#<json field>`, and the
 * image's loader fetches them all in one BatchGetSecretValue call at start (functions/dify-api-image/secrets_loader.py).
 * Only ARNs are in the template. Aliases keep the environment small: Lambda caps it at 4 KB in total (Lambda DG
 * "Working with Lambda environment variables") and a generated secret ARN is ~120 characters.
 */
export function lambdaSecretEnvironment(
  scope: Construct,
  settings: ContainerSettings,
  grantee: iam.IGrantable,
): Record<string, string> {
  const aliases = new Map<secretsmanager.ISecret, string>();
  const refs: Record<string, string> = {};
  for (const [name, ref] of Object.entries(settings.secrets)) {
    let alias = aliases.get(ref.secret);
    if (alias === undefined) {
      alias = String(aliases.size + 1);
      aliases.set(ref.secret, alias);
      ref.secret.grantRead(grantee);
    }
    refs[name] = ref.field ? `${alias}#${ref.field}` : alias;
  }
  const ids = Object.fromEntries([...aliases].map(([secret, alias]) => [alias, secret.secretArn]));
  const stack = Stack.of(scope);
  return {
    ...settings.environment,
    DIFY_EDGE_SECRET_IDS: stack.toJsonString(ids),
    // Plain JSON: no token inside, so it stays readable in the console.
    DIFY_EDGE_SECRETS: JSON.stringify(refs),
    ...(Object.keys(settings.templates).length > 0
      ? { DIFY_EDGE_TEMPLATES: stack.toJsonString(settings.templates) }
      : {}),
  };
}
