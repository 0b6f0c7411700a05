import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface CachedSecretOptions {
  /**
   * Read the secret again once the cached value is older than this, so a rotated value reaches running
   * environments without a redeploy (the upload relay's origin secret, docs/adr/0016).
   * @default undefined (kept for the life of the environment)
   */
  readonly maxAgeMs?: number;
  /** Clock in milliseconds; tests replace it. @default Date.now */
  readonly now?: () => number;
}

/**
 * Reads a Secrets Manager secret string once per execution environment and keeps it in memory: one GetSecretValue
 * per cold start (or per `maxAgeMs`), not per request. A failed read is not cached, so the next request tries again.
 */
export function cachedSecretString(
  client: SecretsManagerClient,
  secretId: string,
  options: CachedSecretOptions = {},
): () => Promise<string> {
  const now = options.now ?? Date.now;
  let pending: Promise<string> | undefined;
  let readAt = 0;
  return () => {
    if (pending && options.maxAgeMs !== undefined && now() - readAt >= options.maxAgeMs) pending = undefined;
    if (!pending) {
      readAt = now();
      pending = client
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
    }
    return pending;
  };
}
