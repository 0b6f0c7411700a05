/**
 * Lambda entry of the Bedrock Knowledge Bases API (LLRT, function URL; docs/adr/0012).
 *
 * Bundled for the `browser` platform with only `@aws-sdk/client-secrets-manager` left external: LLRT's standard
 * build ships that client but not `@aws-sdk/client-bedrock-agent-runtime`, which is bundled (LLRT README, "Using
 * AWS SDK (v3) with LLRT"). The browser build of a client uses `fetch` and no Node.js modules, but it has no
 * default credential chain, so the Bedrock client gets the execution role's credentials from the environment
 * variables Lambda sets (AWS Lambda DG, "Defined runtime environment variables").
 */
import { BedrockAgentRuntimeClient } from '@aws-sdk/client-bedrock-agent-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { cachedSecretString } from '../shared/cached-secret';
import { credentialsFromEnvironment, required, type Environment } from '../shared/lambda-credentials';
import { functionUrlHandler } from '../shared/function-url-adapter';
import { createKnowledgeApp } from './app';
import { ENVIRONMENT } from './environment';

export { ENVIRONMENT };

/**
 * Dify waits 5 s for an answer (SSRF_DEFAULT_READ_TIME_OUT, api/configs/feature/__init__.py:559) and retries
 * itself, so one Bedrock attempt that gives up before that is worth more than SDK retries Dify no longer waits for.
 */
const BEDROCK_REQUEST_TIMEOUT_MS = 4_500;

export interface HandlerOverrides {
  /** Local stand-ins in tests; unset in Lambda. */
  readonly bedrockEndpoint?: string;
  readonly secretsManager?: SecretsManagerClient;
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** Builds the handler from the environment; module scope keeps clients and the cached key per environment. */
export function createHandler(env: Environment, overrides: HandlerOverrides = {}) {
  const region = env[ENVIRONMENT.knowledgeBaseRegion] || required(env, 'AWS_REGION');
  const knowledgeBaseIds = required(env, ENVIRONMENT.knowledgeBaseIds)
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const bedrock = new BedrockAgentRuntimeClient({
    region,
    credentials: credentialsFromEnvironment(env),
    requestHandler: new FetchHttpHandler({ requestTimeout: BEDROCK_REQUEST_TIMEOUT_MS }),
    maxAttempts: 1,
    ...(overrides.bedrockEndpoint ? { endpoint: overrides.bedrockEndpoint } : {}),
  });
  const secretsManager = overrides.secretsManager ?? new SecretsManagerClient({});
  const app = createKnowledgeApp({
    knowledgeBaseIds,
    bedrock,
    apiKey: cachedSecretString(secretsManager, required(env, ENVIRONMENT.apiKeySecretArn)),
    log: overrides.log ?? ((entry) => console.log(JSON.stringify(entry))),
  });
  return functionUrlHandler(app.fetch);
}

let handlerOfThisEnvironment: ReturnType<typeof createHandler> | undefined;

export const handler: ReturnType<typeof createHandler> = (event) => {
  handlerOfThisEnvironment ??= createHandler(process.env);
  return handlerOfThisEnvironment(event);
};
