/**
 * Dify's External Knowledge API in front of Amazon Bedrock Knowledge Bases (docs/adr/0012).
 *
 * Dify 1.13.3 calls `POST {endpoint}/retrieval` with `Authorization: Bearer <api key>` and a JSON body
 * (`api/services/external_knowledge_service.py:304-327`) and takes the `records` of a 200 answer; anything else is
 * shown to the user (line 331). When an API is registered it first POSTs the same URL with only the Authorization
 * header and no body, and refuses the API on 404, 403 and 502 (lines 93-102): a right key must get another status
 * there, a wrong one must get 403 so the user learns at registration, not at the first retrieval.
 */
import {
  RetrieveCommand,
  type BedrockAgentRuntimeClient,
  type KnowledgeBaseRetrievalResult,
} from '@aws-sdk/client-bedrock-agent-runtime';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { bearerToken, constantTimeEqual } from '../shared/bearer-auth';
import { DifyRequestError, ERROR_CODES, difyRecords, parseRetrievalRequest, retrieveInput } from './mapping';

export interface KnowledgeApiOptions {
  /** The knowledge bases Dify may name in `knowledge_id`; the function's role may retrieve from these only. */
  readonly knowledgeBaseIds: readonly string[];
  readonly bedrock: BedrockAgentRuntimeClient;
  /** The API key Dify must present; read once per environment (functions/shared/cached-secret.ts). */
  readonly apiKey: () => Promise<string>;
  /** One JSON object per call; never given the key, the Authorization header or the query text. */
  readonly log?: (entry: Record<string, unknown>) => void;
}

/** Bedrock errors that mean "try again later" (Retrieve: ThrottlingException 429, ServiceQuotaExceeded 400). */
const THROTTLED = new Set(['ThrottlingException', 'ServiceQuotaExceededException']);

function errorBody(context: Context, status: ContentfulStatusCode, errorCode: number, message: string): Response {
  return context.json({ error_code: errorCode, error_msg: message }, status);
}

function bedrockFailure(context: Context, error: unknown): Response {
  const name = error instanceof Error ? error.name : 'UnknownError';
  const message = error instanceof Error ? error.message : String(error);
  if (THROTTLED.has(name)) {
    // Dify retries 429 and 5xx answers (SSRF_DEFAULT_MAX_RETRIES, api/configs/feature/__init__.py:529).
    return errorBody(context, 429, 429, `Bedrock is throttling Retrieve requests; try again shortly (${name})`);
  }
  if (name === 'ValidationException') {
    // E.g. a filter the knowledge base's vector store cannot evaluate: the caller's request, Bedrock's words.
    return errorBody(context, 400, 400, `Bedrock rejected the request: ${message}`);
  }
  if (name === 'ResourceNotFoundException') {
    return errorBody(context, 404, ERROR_CODES.knowledgeNotFound, `The knowledge is not exist: ${message}`);
  }
  // AccessDenied (a role or KMS problem), DependencyFailed (the vector store or embedding model), BadGateway,
  // InternalServer, network errors: the upstream failed, not this function nor Dify's request.
  return errorBody(context, 502, 502, `Bedrock Retrieve failed (${name})`);
}

/** The hono app: run it with `app.fetch` behind a function URL (functions/shared/function-url-adapter.ts). */
export function createKnowledgeApp(options: KnowledgeApiOptions): Hono {
  const log = options.log ?? (() => undefined);
  // A function URL ends with "/", and Dify appends "/retrieval" to whatever was pasted (line 84): accept
  // "//retrieval" (and a trailing slash) as the same route instead of failing registration with a 404.
  const app = new Hono({
    getPath: (request) => {
      const path = new URL(request.url).pathname.replace(/\/{2,}/g, '/');
      return path.length > 1 ? path.replace(/\/$/, '') : path;
    },
  });

  app.post('/retrieval', async (context) => {
    const started = Date.now();
    const token = bearerToken(context.req.header('authorization'));
    if (token === undefined) {
      log({ outcome: 'bad-authorization-header', status: 403 });
      return errorBody(
        context,
        403,
        ERROR_CODES.invalidAuthorizationHeader,
        'Invalid Authorization header format. Expected "Bearer <api-key>" format.',
      );
    }
    let expected: string;
    try {
      expected = await options.apiKey();
    } catch (error) {
      log({ outcome: 'api-key-unavailable', status: 500, error: error instanceof Error ? error.name : 'UnknownError' });
      return errorBody(context, 500, 500, 'The API key could not be read; see the function logs');
    }
    if (!constantTimeEqual(token, expected)) {
      log({ outcome: 'authorization-failed', status: 403 });
      return errorBody(context, 403, ERROR_CODES.authorizationFailed, 'Authorization failed');
    }

    const text = await context.req.text();
    if (text.trim() === '') {
      // Dify's registration probe: a right key and no body (external_knowledge_service.py:94).
      log({ outcome: 'probe', status: 200 });
      return context.json({ records: [] }, 200);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      log({ outcome: 'malformed-json', status: 400 });
      return errorBody(context, 400, 400, 'The request body is not valid JSON');
    }

    let input: ReturnType<typeof retrieveInput>;
    let scoreThreshold: number;
    try {
      const request = parseRetrievalRequest(body, options.knowledgeBaseIds);
      input = retrieveInput(request);
      scoreThreshold = request.scoreThreshold;
    } catch (error) {
      if (!(error instanceof DifyRequestError)) throw error;
      log({ outcome: 'invalid-request', status: error.status, errorCode: error.errorCode });
      return errorBody(context, error.status, error.errorCode, error.message);
    }

    let results: KnowledgeBaseRetrievalResult[];
    try {
      const output = await options.bedrock.send(new RetrieveCommand(input));
      results = output.retrievalResults ?? [];
    } catch (error) {
      const response = bedrockFailure(context, error);
      log({
        outcome: 'bedrock-error',
        status: response.status,
        knowledgeBaseId: input.knowledgeBaseId,
        error: error instanceof Error ? error.name : 'UnknownError',
        durationMs: Date.now() - started,
      });
      return response;
    }
    const records = difyRecords(results, scoreThreshold);
    log({
      outcome: 'retrieved',
      status: 200,
      knowledgeBaseId: input.knowledgeBaseId,
      results: results.length,
      records: records.length,
      durationMs: Date.now() - started,
    });
    return context.json({ records }, 200);
  });

  app.all('/retrieval', (context) => {
    context.header('allow', 'POST');
    return errorBody(context, 405, 405, 'Use POST /retrieval');
  });
  app.notFound((context) => errorBody(context, 404, 404, 'Not found: Dify calls POST /retrieval'));
  app.onError((error, context) => {
    log({ outcome: 'internal-error', status: 500, error: error.name });
    return errorBody(context, 500, 500, 'Internal error');
  });
  return app;
}
