/**
 * The rules by which Dify 1.13.3's api and web pick the name of the CSRF cookie, restated from the upstream sources
 * (test/dify/cookie-rules.test.ts checks the source lines when the reference is present):
 * - api/libs/token.py: `is_secure()` is CONSOLE_WEB_URL and CONSOLE_API_URL both starting with "https";
 *   `_real_cookie_name` prefixes `__Host-` when secure and COOKIE_DOMAIN (stripped, leading dot removed) is empty.
 * - web/config/index.ts: CSRF_COOKIE_NAME is `csrf_token` when NEXT_PUBLIC_COOKIE_DOMAIN is set, else
 *   `__Host-csrf_token` when API_PREFIX (NEXT_PUBLIC_API_PREFIX, default http://localhost:5001/console/api) starts
 *   with "https://", else `csrf_token`.
 * - web/docker/entrypoint.sh: NEXT_PUBLIC_API_PREFIX=${CONSOLE_API_URL}/console/api.
 */
export const CSRF_COOKIE = 'csrf_token';

export function apiCsrfCookieName(env: Record<string, string | undefined>): string {
  const secure = (env.CONSOLE_WEB_URL ?? '').startsWith('https') && (env.CONSOLE_API_URL ?? '').startsWith('https');
  const domain = (env.COOKIE_DOMAIN ?? '').trim().replace(/^\./, '');
  return secure && domain === '' ? `__Host-${CSRF_COOKIE}` : CSRF_COOKIE;
}

export function webApiPrefix(env: Record<string, string | undefined>): string {
  return `${env.CONSOLE_API_URL ?? ''}/console/api`;
}

export function webCsrfCookieName(env: Record<string, string | undefined>): string {
  if ((env.NEXT_PUBLIC_COOKIE_DOMAIN ?? '').trim() !== '') return CSRF_COOKIE;
  const prefix = env.NEXT_PUBLIC_API_PREFIX || 'http://localhost:5001/console/api';
  return prefix.startsWith('https://') ? `__Host-${CSRF_COOKIE}` : CSRF_COOKIE;
}
