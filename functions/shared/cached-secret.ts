import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Reads a Secrets Manager secret string once per execution environment and keeps it in memory: one GetSecretValue
 * per cold start, not per request. A failed read is not cached, so the next request tries again.
 */
export function cachedSecretString(client: SecretsManagerClient, secretId: string): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= client
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((output) => {
        if (typeof output.SecretString !== 'string' || output.SecretString === '') {
          throw new Error(`secret ${secretId} holds no SecretString`);
        }
        return output.SecretString;
      })
      .catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
    return pending;
  };
}
