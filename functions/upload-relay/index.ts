/**
 * Lambda entry of the upload relay (LLRT, function URL with AuthType NONE; docs/adr/0016).
 *
 * Bundled for the `browser` platform with only `@aws-sdk/client-secrets-manager` left external, which LLRT's
 * standard build ships (lib/llrt-function.ts). SigV4 signing uses `@smithy/signature-v4` with the pure-JavaScript
 * `@aws-crypto/sha256-js`, bundled, so nothing depends on a Node.js `crypto` module.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedSecretString } from '../shared/cached-secret';
import { functionUrlHandler } from '../shared/function-url-adapter';
import { credentialsFromEnvironment, required, type Environment } from '../shared/lambda-credentials';
import { SITE_URL_FIELD } from '../shared/site-url-secret';
import { createRelayApp, type FetchFunction } from './app';
import { createBackendWaker } from './backend-wake';
import { ENVIRONMENT } from './environment';
import { RELAY_SECRET_FIELDS } from './routes';

export { ENVIRONMENT };

/**
 * How long an environment keeps the secrets it read. A rotation (README, "Upload relay secret rotation") waits this
 * long between writing the new value and deploying it to CloudFront, so every running environment accepts it first.
 */
export const SECRET_CACHE_MS = 5 * 60 * 1000;

export interface HandlerOverrides {
  /** Local stand-ins in tests; unset in Lambda. */
  readonly secretsManager?: SecretsManagerClient;
  readonly fetch?: FetchFunction;
  /** The ECS API endpoint (a stand-in in tests). @default https://ecs.<region>.amazonaws.com */
  readonly ecsEndpoint?: string;
  readonly now?: () => number;
  readonly log?: (entry: Record<string, unknown>) => void;
}

function field(secretText: string, name: string): string {
  const parsed: unknown = JSON.parse(secretText);
  const value = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

/** Builds the handler from the environment; module scope keeps the cached secrets per environment. */
export function createHandler(env: Environment, overrides: HandlerOverrides = {}) {
  const secretsManager = overrides.secretsManager ?? new SecretsManagerClient({});
  const cacheOptions = { maxAgeMs: SECRET_CACHE_MS, ...(overrides.now ? { now: overrides.now } : {}) };
  const originSecret = cachedSecretString(secretsManager, required(env, ENVIRONMENT.originSecretArn), cacheOptions);
  const siteUrlSecret = cachedSecretString(secretsManager, required(env, ENVIRONMENT.siteUrlSecretArn), cacheOptions);
  const log = overrides.log ?? ((entry: Record<string, unknown>) => console.log(JSON.stringify(entry)));
  const fetchFunction: FetchFunction = overrides.fetch ?? ((input, init) => fetch(input, init));
  const backendService = env[ENVIRONMENT.backendService];
  const wakeBackend = backendService
    ? createBackendWaker({
        service: backendService,
        region: required(env, 'AWS_REGION'),
        credentials: () => credentialsFromEnvironment(env),
        fetch: fetchFunction,
        ...(overrides.ecsEndpoint ? { endpoint: overrides.ecsEndpoint } : {}),
        ...(overrides.now ? { now: overrides.now } : {}),
        log,
      })
    : undefined;
  const app = createRelayApp({
    apiUrl: required(env, ENVIRONMENT.apiUrl),
    region: required(env, 'AWS_REGION'),
    credentials: () => credentialsFromEnvironment(env),
    pluginDaemonUrl: required(env, ENVIRONMENT.pluginDaemonUrl),
    acceptedSecrets: async () => {
      const text = await originSecret();
      return [field(text, RELAY_SECRET_FIELDS.current), field(text, RELAY_SECRET_FIELDS.previous)].filter(
        (value) => value !== '',
      );
    },
    siteUrl: async () => {
      const url = field(await siteUrlSecret(), SITE_URL_FIELD);
      if (!url.startsWith('https://')) throw new Error('the site-URL secret holds no https URL yet');
      return url;
    },
    fetch: fetchFunction,
    ...(wakeBackend ? { wakeBackend } : {}),
    log,
  });
  return functionUrlHandler(app.fetch);
}

let handlerOfThisEnvironment: ReturnType<typeof createHandler> | undefined;

export const handler: ReturnType<typeof createHandler> = (event) => {
  handlerOfThisEnvironment ??= createHandler(process.env);
  return handlerOfThisEnvironment(event);
};
