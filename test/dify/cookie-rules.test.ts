/** The cookie rules of test/support/dify-cookies.ts, checked line by line against Dify 1.13.3's sources. */
import { apiCsrfCookieName, webCsrfCookieName } from '../support/dify-cookies';
import { describeWithReference, readReference } from '../support/reference';

describeWithReference('Dify 1.13.3 CSRF cookie rules (read from the upstream sources)', () => {
  test('api: __Host- prefix when both console URLs are https and no cookie domain is set', () => {
    const token = readReference('api/libs/token.py');
    expect(token).toContain(
      'return dify_config.CONSOLE_WEB_URL.startswith("https") and dify_config.CONSOLE_API_URL.startswith("https")',
    );
    expect(token).toMatch(/if is_secure\(\) and _cookie_domain\(\) is None:\n\s+return "__Host-" \+ cookie_name/);
    expect(token).toContain('return request.cookies.get(_real_cookie_name(COOKIE_NAME_CSRF_TOKEN))');
    expect(token).toContain('domain = domain.removeprefix(".")');
  });

  test('web: the API prefix decides the cookie name unless a cookie domain is set', () => {
    const config = readReference('web/config/index.ts');
    expect(config).toMatch(/if \(COOKIE_DOMAIN\)\n\s+return 'csrf_token'/);
    expect(config).toContain("const isSecure = API_PREFIX.startsWith('https://')");
    expect(config).toContain("return isSecure ? '__Host-csrf_token' : 'csrf_token'");
    expect(config).toMatch(
      /API_PREFIX = getStringConfig\(\n\s+env\.NEXT_PUBLIC_API_PREFIX,\n\s+'http:\/\/localhost:5001\/console\/api',/,
    );
    const entrypoint = readReference('web/docker/entrypoint.sh');
    expect(entrypoint).toContain('export NEXT_PUBLIC_API_PREFIX=${CONSOLE_API_URL}/console/api');
  });

  test('the restated rules give the documented names', () => {
    const https = 'https://d111111abcdef8.cloudfront.net';
    expect(apiCsrfCookieName({ CONSOLE_WEB_URL: https, CONSOLE_API_URL: https })).toBe('__Host-csrf_token');
    expect(apiCsrfCookieName({ CONSOLE_WEB_URL: https, CONSOLE_API_URL: https, COOKIE_DOMAIN: '.x.com' })).toBe(
      'csrf_token',
    );
    expect(webCsrfCookieName({ NEXT_PUBLIC_API_PREFIX: '/console/api' })).toBe('csrf_token');
    expect(webCsrfCookieName({ NEXT_PUBLIC_API_PREFIX: `${https}/console/api` })).toBe('__Host-csrf_token');
  });
});
