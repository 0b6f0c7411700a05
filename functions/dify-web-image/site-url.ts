/**
 * Prints Dify's public site URL, read from the site-URL secret, for the web image's entry script.
 *
 * dify-web turns CONSOLE_API_URL into NEXT_PUBLIC_API_PREFIX (web/docker/entrypoint.sh of Dify 1.13.3), and the
 * browser code picks the CSRF cookie name from that prefix: `__Host-csrf_token` when it starts with `https://`, else
 * `csrf_token` (web/config/index.ts, CSRF_COOKIE_NAME). The api names its cookies `__Host-…` when its console URLs
 * are https (api/libs/token.py, is_secure and _real_cookie_name). Both must see the same https URL, or every console
 * call after login is 401 "CSRF token is missing or invalid". Without a custom domain that URL is the
 * distribution's, which exists only after the web function (its origin): so it is read here, at start, from the
 * secret the stack writes once the distribution exists (docs/adr/0006).
 *
 * Environment: DIFY_EDGE_SITE_URL_SECRET (secret ARN; JSON field `siteUrl`), AWS_REGION and the function's
 * credentials, as Lambda sets them. Exit 1 with one line on stderr when the URL cannot be read or is not yet
 * written: Lambda then fails this init and retries it on the next request, instead of serving the wrong prefix.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SITE_URL_FIELD, SITE_URL_SECRET_VARIABLE } from '../shared/site-url-secret';
const SITE_URL_PATTERN = /^https:\/\/[a-z0-9.-]+(:\d+)?$/;

export class SiteUrlError extends Error {}

/** Extracts and checks the URL from the secret's text (which holds nothing secret). */
export function parseSiteUrl(secretString: string | undefined): string {
  let document: unknown;
  try {
    document = JSON.parse(secretString ?? '');
  } catch {
    throw new SiteUrlError('the site-URL secret is not JSON');
  }
  const value = (document as Record<string, unknown> | null)?.[SITE_URL_FIELD];
  if (typeof value !== 'string' || value === '') {
    throw new SiteUrlError(
      `the site-URL secret has no ${SITE_URL_FIELD} yet (the stack writes it after the distribution exists)`,
    );
  }
  if (!SITE_URL_PATTERN.test(value)) {
    throw new SiteUrlError(`${SITE_URL_FIELD} ${JSON.stringify(value)} is not https://<host> without a path`);
  }
  return value;
}

export { SITE_URL_SECRET_VARIABLE };

export async function readSiteUrl(environment: NodeJS.ProcessEnv, client?: SecretsManagerClient): Promise<string> {
  const secretId = environment[SITE_URL_SECRET_VARIABLE];
  if (!secretId) throw new SiteUrlError(`${SITE_URL_SECRET_VARIABLE} is not set`);
  const secretsManager = client ?? new SecretsManagerClient({ maxAttempts: 3 });
  let secretString: string | undefined;
  try {
    secretString = (await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    throw new SiteUrlError(`GetSecretValue ${secretId} failed: ${name}: ${message}`);
  }
  return parseSiteUrl(secretString);
}

if (require.main === module) {
  readSiteUrl(process.env).then(
    (url) => process.stdout.write(`${url}\n`),
    (error: unknown) => {
      process.stderr.write(`dify-edge site-url: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
