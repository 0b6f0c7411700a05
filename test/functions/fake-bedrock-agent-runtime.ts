import type { KnowledgeBaseRetrievalResult, RetrieveCommandInput } from '@aws-sdk/client-bedrock-agent-runtime';
import { Hono } from 'hono';
import { startLocalServer } from './local-server';

/** A Retrieve call as the stand-in received it. */
export interface RecordedRetrieve {
  readonly knowledgeBaseId: string;
  readonly authorization: string;
  readonly body: Omit<RetrieveCommandInput, 'knowledgeBaseId'>;
}

/** An error the stand-in answers instead of results (restJson1: status, x-amzn-errortype, {"message"}). */
export interface ScriptedError {
  readonly type: string;
  readonly status: number;
  readonly message: string;
}

export interface FakeBedrockAgentRuntime {
  readonly endpoint: string;
  readonly calls: RecordedRetrieve[];
  /** The next Retrieve calls fail with these errors, in order. */
  failNext(...errors: ScriptedError[]): void;
  close(): Promise<void>;
}

/**
 * A local server speaking the Bedrock Agent Runtime Retrieve REST API (`POST /knowledgebases/{id}/retrieve`,
 * restJson1) closely enough for the real SDK client: unknown knowledge bases answer ResourceNotFoundException
 * (404), `numberOfResults` caps the results (default 5, as the API documents), and errors carry the type in the
 * `x-amzn-errortype` header as the service sends it.
 */
export async function startFakeBedrockAgentRuntime(
  knowledgeBases: Readonly<Record<string, readonly KnowledgeBaseRetrievalResult[]>>,
): Promise<FakeBedrockAgentRuntime> {
  const calls: RecordedRetrieve[] = [];
  const scripted: ScriptedError[] = [];
  const app = new Hono();

  app.post('/knowledgebases/:id/retrieve', async (context) => {
    const knowledgeBaseId = context.req.param('id');
    const body = (await context.req.json()) as RecordedRetrieve['body'];
    calls.push({ knowledgeBaseId, authorization: context.req.header('authorization') ?? '', body });
    const failure = scripted.shift();
    if (failure) {
      context.header('x-amzn-errortype', `${failure.type}:http://internal.amazon.com/coral/com.amazon.bedrock/`);
      return context.body(JSON.stringify({ message: failure.message }), failure.status as 400, {
        'content-type': 'application/json',
      });
    }
    const results = knowledgeBases[knowledgeBaseId];
    if (!results) {
      context.header('x-amzn-errortype', 'ResourceNotFoundException');
      return context.json({ message: `Knowledge base ${knowledgeBaseId} does not exist` }, 404);
    }
    const limit = body.retrievalConfiguration?.vectorSearchConfiguration?.numberOfResults ?? 5;
    return context.json({ retrievalResults: results.slice(0, limit) }, 200);
  });

  const server = await startLocalServer(app);
  return {
    endpoint: server.endpoint,
    calls,
    failNext: (...errors) => {
      scripted.push(...errors);
    },
    close: () => server.close(),
  };
}
