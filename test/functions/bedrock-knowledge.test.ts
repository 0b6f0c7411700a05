import type { KnowledgeBaseRetrievalResult } from '@aws-sdk/client-bedrock-agent-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHandler, ENVIRONMENT } from '../../functions/bedrock-knowledge';
import { SUPPORTED_OPERATORS, UNSUPPORTED_OPERATORS } from '../../functions/bedrock-knowledge/mapping';
import type { FunctionUrlResult } from '../../functions/shared/function-url-adapter';
import { secretArn, startFakeSecretsManager, type FakeSecretsManager } from '../containers/fake-secrets-manager';
import { startFakeBedrockAgentRuntime, type FakeBedrockAgentRuntime } from './fake-bedrock-agent-runtime';
import { fakeCredentials } from './local-server';

const KB = 'KBAAAAAAAA';
const OTHER_KB = 'KBBBBBBBBB';
const API_KEY = 'Zq3vN8xR2mT7pL4sW9yB1cF6hJ0kD5gA8eU3iO7nM2rV4tX6';
const KEY_SECRET = secretArn('dify-bedrock-knowledge-api-key');

/** What Bedrock returns for a PDF in S3, a web page, a Confluence page, a structured row and an image chunk. */
const RESULTS: KnowledgeBaseRetrievalResult[] = [
  {
    content: { type: 'TEXT', text: 'Refunds are processed within 14 days.' },
    location: { type: 'S3', s3Location: { uri: 's3://kb-docs/policies/refund%20policy.pdf' } },
    score: 0.91,
    metadata: {
      'x-amz-bedrock-kb-source-uri': 's3://kb-docs/policies/refund%20policy.pdf',
      'x-amz-bedrock-kb-document-page-number': 3,
      'x-amz-bedrock-kb-chunk-id': '1%3A0%3Aabc',
      category: 'policy',
      year: 2024,
    },
  },
  {
    content: { type: 'TEXT', text: 'Contact support at the help desk.' },
    location: { type: 'WEB', webLocation: { url: 'https://example.com/help/contact' } },
    score: 0.62,
    metadata: { 'x-amz-bedrock-kb-source-uri': 'https://example.com/help/contact' },
  },
  {
    content: { type: 'TEXT', text: 'Onboarding checklist.' },
    location: { type: 'CONFLUENCE', confluenceLocation: { url: 'https://wiki.example.com/x/onboarding' } },
    score: 0.4,
  },
  {
    content: {
      type: 'ROW',
      row: [
        { columnName: 'product', columnValue: 'Widget', type: 'STRING' },
        { columnName: 'price', columnValue: '9.99', type: 'DOUBLE' },
      ],
    },
    location: { type: 'SQL', sqlLocation: { query: 'SELECT product, price FROM catalog' } },
    score: 0.35,
  },
  {
    content: { type: 'IMAGE', byteContent: 'data:image/png;base64,iVBORw0KGgo=' },
    location: { type: 'S3', s3Location: { uri: 's3://kb-docs/diagram.png' } },
    score: 0.3,
  },
];

/** Dify 1.13.3's request body (api/services/external_knowledge_service.py:309-317). */
function difyBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    retrieval_setting: { top_k: 5, score_threshold: 0.0 },
    query: 'How long do refunds take?',
    knowledge_id: KB,
    metadata_condition: null,
    ...overrides,
  };
}

function urlEvent(
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): LambdaFunctionURLEvent {
  const method = options.method ?? 'POST';
  const path = options.path ?? '/retrieval';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc123.lambda-url.ap-northeast-1.on.aws', ...(options.headers ?? {}) },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.ap-northeast-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'python-httpx/0.27.0' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1_767_225_600_000,
    },
    body: options.body,
    isBase64Encoded: false,
  };
}

/** A POST the way Dify's httpx client sends it: JSON body, Bearer key. */
function difyEvent(body: unknown, key: string = API_KEY): LambdaFunctionURLEvent {
  return urlEvent({
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function json(result: FunctionUrlResult): Record<string, unknown> {
  expect(result.isBase64Encoded).toBe(false);
  return JSON.parse(result.body) as Record<string, unknown>;
}

describe('Bedrock Knowledge Bases External Knowledge API', () => {
  let bedrock: FakeBedrockAgentRuntime;
  let secrets: FakeSecretsManager;
  let secretsClient: SecretsManagerClient;
  let logs: Array<Record<string, unknown>>;
  let handler: ReturnType<typeof createHandler>;

  beforeEach(async () => {
    bedrock = await startFakeBedrockAgentRuntime({ [KB]: RESULTS, [OTHER_KB]: [] });
    secrets = await startFakeSecretsManager([
      { name: 'dify-bedrock-knowledge-api-key', arn: KEY_SECRET, secretString: API_KEY },
    ]);
    secretsClient = new SecretsManagerClient({
      endpoint: secrets.endpoint,
      region: 'ap-northeast-1',
      credentials: fakeCredentials,
    });
    logs = [];
    handler = createHandler(
      {
        [ENVIRONMENT.knowledgeBaseIds]: `${KB},${OTHER_KB}`,
        [ENVIRONMENT.knowledgeBaseRegion]: 'us-west-2',
        [ENVIRONMENT.apiKeySecretArn]: KEY_SECRET,
        AWS_REGION: 'ap-northeast-1',
        AWS_ACCESS_KEY_ID: fakeCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: fakeCredentials.secretAccessKey,
        AWS_SESSION_TOKEN: 'session-token',
      },
      { bedrockEndpoint: bedrock.endpoint, secretsManager: secretsClient, log: (entry) => logs.push(entry) },
    );
  });

  afterEach(async () => {
    secretsClient.destroy();
    await bedrock.close();
    await secrets.close();
  });

  describe('Dify registration probe (POST with the key and no body)', () => {
    test('a right key gets 200 with no records, so Dify accepts the API; Bedrock is not called', async () => {
      const result = await handler(urlEvent({ headers: { authorization: `Bearer ${API_KEY}` } }));
      expect(result.statusCode).toBe(200);
      expect(json(result)).toEqual({ records: [] });
      expect(bedrock.calls).toHaveLength(0);
    });

    test('a wrong key gets 403, which Dify reports as "Authorization failed" at registration', async () => {
      const result = await handler(urlEvent({ headers: { authorization: 'Bearer wrong-key' } }));
      expect(result.statusCode).toBe(403);
      expect(json(result)).toEqual({ error_code: 1002, error_msg: 'Authorization failed' });
    });

    test('the endpoint as the function URL prints it (trailing slash) still routes: Dify calls "//retrieval"', async () => {
      const result = await handler(urlEvent({ path: '//retrieval', headers: { authorization: `Bearer ${API_KEY}` } }));
      expect(result.statusCode).toBe(200);
    });
  });

  describe('authorization', () => {
    test.each([
      ['no Authorization header', {}],
      ['another scheme', { authorization: `Basic ${API_KEY}` }],
      ['a bare key', { authorization: API_KEY }],
      ['an empty bearer', { authorization: 'Bearer ' }],
    ])('%s: 403 with error_code 1001', async (_name, headers) => {
      const result = await handler(urlEvent({ headers, body: JSON.stringify(difyBody()) }));
      expect(result.statusCode).toBe(403);
      expect(json(result)).toEqual({
        error_code: 1001,
        error_msg: 'Invalid Authorization header format. Expected "Bearer <api-key>" format.',
      });
      expect(bedrock.calls).toHaveLength(0);
    });

    test.each([
      ['a wrong key', 'not-the-key'],
      ['the key with one character changed', `${API_KEY.slice(0, -1)}x`],
      ['a prefix of the key', API_KEY.slice(0, 20)],
      ['the key with a suffix', `${API_KEY}x`],
    ])('%s: 403 with error_code 1002, nothing retrieved', async (_name, key) => {
      const result = await handler(difyEvent(difyBody(), key));
      expect(result.statusCode).toBe(403);
      expect(json(result)).toEqual({ error_code: 1002, error_msg: 'Authorization failed' });
      expect(bedrock.calls).toHaveLength(0);
    });

    test('the scheme is case-insensitive', async () => {
      const result = await handler(
        urlEvent({ headers: { authorization: `bearer ${API_KEY}` }, body: JSON.stringify(difyBody()) }),
      );
      expect(result.statusCode).toBe(200);
    });

    test('the key is read from Secrets Manager once per environment, with GetSecretValue', async () => {
      await handler(difyEvent(difyBody()));
      await handler(difyEvent(difyBody()));
      await handler(difyEvent(difyBody(), 'wrong'));
      expect(secrets.calls.map((call) => [call.target, call.body.SecretId])).toEqual([
        ['secretsmanager.GetSecretValue', KEY_SECRET],
      ]);
    });

    test('an unreadable key is a 500 without detail, and a later request tries again', async () => {
      const broken = createHandler(
        {
          [ENVIRONMENT.knowledgeBaseIds]: KB,
          [ENVIRONMENT.apiKeySecretArn]: secretArn('missing'),
          AWS_REGION: 'ap-northeast-1',
          AWS_ACCESS_KEY_ID: 'a',
          AWS_SECRET_ACCESS_KEY: 'b',
        },
        { bedrockEndpoint: bedrock.endpoint, secretsManager: secretsClient, log: (entry) => logs.push(entry) },
      );
      const first = await broken(difyEvent(difyBody()));
      expect(first.statusCode).toBe(500);
      expect(json(first)).toEqual({
        error_code: 500,
        error_msg: 'The API key could not be read; see the function logs',
      });
      await broken(difyEvent(difyBody()));
      expect(secrets.calls).toHaveLength(2);
    });

    test('logs never hold the key, the Authorization header or the query', async () => {
      await handler(difyEvent(difyBody()));
      await handler(difyEvent(difyBody(), `${API_KEY}x`));
      await handler(urlEvent({ headers: { authorization: `Bearer ${API_KEY}` } }));
      const text = JSON.stringify(logs);
      expect(logs.length).toBe(3);
      expect(text).not.toContain(API_KEY.slice(0, 12));
      expect(text).not.toMatch(/bearer/i);
      expect(text).not.toContain('refunds');
    });
  });

  describe('retrieval', () => {
    test("Dify's request becomes one signed Retrieve call on the named knowledge base in the configured region", async () => {
      const result = await handler(difyEvent(difyBody({ retrieval_setting: { top_k: 3, score_threshold: 0.0 } })));
      expect(result.statusCode).toBe(200);
      expect(bedrock.calls).toHaveLength(1);
      const [call] = bedrock.calls;
      expect(call.knowledgeBaseId).toBe(KB);
      expect(call.body).toEqual({
        retrievalQuery: { text: 'How long do refunds take?' },
        retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults: 3 } },
      });
      expect(call.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-west-2\/bedrock\/aws4_request, SignedHeaders=.*x-amz-security-token/,
      );
      expect((json(result).records as unknown[]).length).toBe(3);
    });

    test('every field of each record: content, score, title from the source, metadata with source and page', async () => {
      const result = await handler(difyEvent(difyBody()));
      expect(json(result)).toEqual({
        records: [
          {
            content: 'Refunds are processed within 14 days.',
            score: 0.91,
            title: 'refund policy.pdf',
            metadata: {
              'x-amz-bedrock-kb-source-uri': 's3://kb-docs/policies/refund%20policy.pdf',
              'x-amz-bedrock-kb-document-page-number': 3,
              'x-amz-bedrock-kb-chunk-id': '1%3A0%3Aabc',
              category: 'policy',
              year: 2024,
              source_uri: 's3://kb-docs/policies/refund%20policy.pdf',
              location_type: 'S3',
              page_number: 3,
            },
          },
          {
            content: 'Contact support at the help desk.',
            score: 0.62,
            title: 'https://example.com/help/contact',
            metadata: {
              'x-amz-bedrock-kb-source-uri': 'https://example.com/help/contact',
              source_uri: 'https://example.com/help/contact',
              location_type: 'WEB',
            },
          },
          {
            content: 'Onboarding checklist.',
            score: 0.4,
            title: 'https://wiki.example.com/x/onboarding',
            metadata: { source_uri: 'https://wiki.example.com/x/onboarding', location_type: 'CONFLUENCE' },
          },
          {
            content: 'product: Widget\nprice: 9.99',
            score: 0.35,
            title: 'SELECT product, price FROM catalog',
            metadata: { source_uri: 'SELECT product, price FROM catalog', location_type: 'SQL' },
          },
          // The image chunk (no text) is left out: Dify passes record content to the model as text.
        ],
      });
    });

    test('the score threshold drops records below it', async () => {
      const result = await handler(difyEvent(difyBody({ retrieval_setting: { top_k: 5, score_threshold: 0.5 } })));
      const records = json(result).records as Array<{ score: number }>;
      expect(records.map((record) => record.score)).toEqual([0.91, 0.62]);
    });

    test('top_k above Bedrock’s maximum is capped at 100; a missing top_k leaves Bedrock’s default', async () => {
      await handler(difyEvent(difyBody({ retrieval_setting: { top_k: 500, score_threshold: 0 } })));
      await handler(difyEvent(difyBody({ retrieval_setting: { top_k: null, score_threshold: null } })));
      expect(bedrock.calls.map((call) => call.body.retrievalConfiguration)).toEqual([
        { vectorSearchConfiguration: { numberOfResults: 100 } },
        { vectorSearchConfiguration: {} },
      ]);
    });

    test('a knowledge base with no matches answers an empty record list', async () => {
      const result = await handler(difyEvent(difyBody({ knowledge_id: OTHER_KB })));
      expect(result.statusCode).toBe(200);
      expect(json(result)).toEqual({ records: [] });
    });

    test('a knowledge_id this API does not serve is 404 with error_code 2001, and Bedrock is not asked', async () => {
      const result = await handler(difyEvent(difyBody({ knowledge_id: 'KBCCCCCCCC' })));
      expect(result.statusCode).toBe(404);
      expect(json(result)).toEqual({
        error_code: 2001,
        error_msg: 'The knowledge is not exist: KBCCCCCCCC is not one of the knowledge bases this API serves',
      });
      expect(bedrock.calls).toHaveLength(0);
    });

    test('malformed JSON is 400', async () => {
      const result = await handler(difyEvent('{"query": "x", '));
      expect(result.statusCode).toBe(400);
      expect(json(result)).toEqual({ error_code: 400, error_msg: 'The request body is not valid JSON' });
    });

    test.each([
      ['a JSON array', [1, 2], 'the request body must be a JSON object'],
      ['no query', difyBody({ query: '  ' }), 'query must be a non-empty string'],
      ['no knowledge_id', difyBody({ knowledge_id: undefined }), 'knowledge_id must be a non-empty string'],
      [
        'a fractional top_k',
        difyBody({ retrieval_setting: { top_k: 2.5, score_threshold: 0 } }),
        'retrieval_setting.top_k must be a positive integer, got 2.5',
      ],
      [
        'a text threshold',
        difyBody({ retrieval_setting: { top_k: 2, score_threshold: 'high' } }),
        'retrieval_setting.score_threshold must be a number, got "high"',
      ],
    ])('%s is 400 naming the field', async (_name, body, message) => {
      const result = await handler(difyEvent(body));
      expect(result.statusCode).toBe(400);
      expect(json(result)).toEqual({ error_code: 400, error_msg: message });
      expect(bedrock.calls).toHaveLength(0);
    });

    test('GET is 405, other paths 404 with the error body', async () => {
      const get = await handler(urlEvent({ method: 'GET', headers: { authorization: `Bearer ${API_KEY}` } }));
      expect(get.statusCode).toBe(405);
      expect(get.headers.allow).toBe('POST');
      const other = await handler(urlEvent({ path: '/search', headers: { authorization: `Bearer ${API_KEY}` } }));
      expect(other.statusCode).toBe(404);
      expect(json(other).error_code).toBe(404);
    });
  });

  describe('metadata filters', () => {
    async function filterFor(metadataCondition: unknown): Promise<unknown> {
      const result = await handler(difyEvent(difyBody({ metadata_condition: metadataCondition })));
      expect(result.statusCode).toBe(200);
      return bedrock.calls.at(-1)?.body.retrievalConfiguration?.vectorSearchConfiguration?.filter;
    }

    test.each([
      ['is', 'policy', { equals: { key: 'category', value: 'policy' } }],
      ['is not', 'policy', { notEquals: { key: 'category', value: 'policy' } }],
      ['=', 2024, { equals: { key: 'category', value: 2024 } }],
      ['=', '2024', { equals: { key: 'category', value: 2024 } }],
      ['≠', 3, { notEquals: { key: 'category', value: 3 } }],
      ['>', 1, { greaterThan: { key: 'category', value: 1 } }],
      ['<', 1, { lessThan: { key: 'category', value: 1 } }],
      ['≥', 1.5, { greaterThanOrEquals: { key: 'category', value: 1.5 } }],
      ['≤', 1, { lessThanOrEquals: { key: 'category', value: 1 } }],
      ['before', 1_735_689_600, { lessThan: { key: 'category', value: 1_735_689_600 } }],
      ['after', 1_735_689_600, { greaterThan: { key: 'category', value: 1_735_689_600 } }],
      ['in', ['policy', 'faq'], { in: { key: 'category', value: ['policy', 'faq'] } }],
      ['in', 'policy, faq', { in: { key: 'category', value: ['policy', 'faq'] } }],
      ['not in', ['draft'], { notIn: { key: 'category', value: ['draft'] } }],
      ['contains', 'pol', { stringContains: { key: 'category', value: 'pol' } }],
      ['start with', 'po', { startsWith: { key: 'category', value: 'po' } }],
    ])('Dify "%s" %p becomes %j', async (operator, value, expected) => {
      const filter = await filterFor({
        logical_operator: 'and',
        conditions: [{ name: 'category', comparison_operator: operator, value }],
      });
      expect(filter).toEqual(expected);
    });

    test('several conditions combine with andAll or orAll; none means no filter', async () => {
      const conditions = [
        { name: 'category', comparison_operator: 'is', value: 'policy' },
        { name: 'year', comparison_operator: '≥', value: 2023 },
      ];
      expect(await filterFor({ logical_operator: 'and', conditions })).toEqual({
        andAll: [
          { equals: { key: 'category', value: 'policy' } },
          { greaterThanOrEquals: { key: 'year', value: 2023 } },
        ],
      });
      expect(await filterFor({ logical_operator: 'or', conditions })).toEqual({
        orAll: [
          { equals: { key: 'category', value: 'policy' } },
          { greaterThanOrEquals: { key: 'year', value: 2023 } },
        ],
      });
      expect(await filterFor({ conditions })).toEqual(expect.objectContaining({ andAll: expect.any(Array) }));
      expect(await filterFor({ logical_operator: 'and', conditions: [] })).toBeUndefined();
      expect(await filterFor({ logical_operator: 'and', conditions: null })).toBeUndefined();
    });

    test("every operator of Dify's SupportedComparisonOperator is either mapped or refused", () => {
      // api/core/rag/entities/metadata_entities.py (Dify): the Literal list of comparison operators.
      const difyOperators = [
        'contains',
        'not contains',
        'start with',
        'end with',
        'is',
        'is not',
        'empty',
        'not empty',
        'in',
        'not in',
        '=',
        '≠',
        '>',
        '<',
        '≥',
        '≤',
        'before',
        'after',
      ];
      expect([...Object.keys(SUPPORTED_OPERATORS), ...Object.keys(UNSUPPORTED_OPERATORS)].sort()).toEqual(
        [...difyOperators].sort(),
      );
    });

    test.each(Object.keys(UNSUPPORTED_OPERATORS))(
      'Dify "%s" has no Bedrock equivalent: 400 naming it, nothing retrieved',
      async (operator) => {
        const result = await handler(
          difyEvent(
            difyBody({
              metadata_condition: {
                logical_operator: 'and',
                conditions: [{ name: 'category', comparison_operator: operator, value: 'x' }],
              },
            }),
          ),
        );
        expect(result.statusCode).toBe(400);
        const body = json(result);
        expect(body.error_code).toBe(400);
        expect(body.error_msg).toContain(`the operator "${operator}" (on "category") cannot be applied`);
        expect(bedrock.calls).toHaveLength(0);
      },
    );

    test.each([
      [{ name: 'year', comparison_operator: '>', value: 'recent' }, '"year" > needs a number, got "recent"'],
      [{ name: 'tag', comparison_operator: 'in', value: [] }, '"tag" in needs a non-empty list'],
      [{ name: 'tag', comparison_operator: 'like', value: 'x' }, 'unknown operator "like"'],
      [{ name: '', comparison_operator: 'is', value: 'x' }, 'conditions[0].name must be a metadata name'],
    ])('a bad condition %j is 400: %s', async (condition, message) => {
      const result = await handler(
        difyEvent(difyBody({ metadata_condition: { logical_operator: 'and', conditions: [condition] } })),
      );
      expect(result.statusCode).toBe(400);
      expect(json(result).error_msg).toContain(message);
    });
  });

  describe('Bedrock errors', () => {
    test.each([
      ['ThrottlingException', 429, 429, 429],
      ['ServiceQuotaExceededException', 400, 429, 429],
      ['ValidationException', 400, 400, 400],
      ['ResourceNotFoundException', 404, 404, 2001],
      ['AccessDeniedException', 403, 502, 502],
      ['DependencyFailedException', 424, 502, 502],
      ['BadGatewayException', 502, 502, 502],
      ['InternalServerException', 500, 502, 502],
    ])('%s (HTTP %i from Bedrock) answers %i with error_code %i', async (type, bedrockStatus, status, code) => {
      bedrock.failNext({ type, status: bedrockStatus, message: `${type} from the stand-in` });
      const result = await handler(difyEvent(difyBody()));
      expect(result.statusCode).toBe(status);
      const body = json(result);
      expect(body.error_code).toBe(code);
      expect(typeof body.error_msg).toBe('string');
      // One attempt only: Dify retries 429/5xx itself and stops waiting after 5 s.
      expect(bedrock.calls).toHaveLength(1);
    });

    test('a ValidationException passes on Bedrock’s own words (e.g. a filter the vector store cannot run)', async () => {
      bedrock.failNext({
        type: 'ValidationException',
        status: 400,
        message: 'startsWith is only supported for Amazon OpenSearch Serverless',
      });
      const result = await handler(difyEvent(difyBody()));
      expect(json(result).error_msg).toBe(
        'Bedrock rejected the request: startsWith is only supported for Amazon OpenSearch Serverless',
      );
    });

    test('an unreachable Bedrock endpoint is 502', async () => {
      await bedrock.close();
      const result = await handler(difyEvent(difyBody()));
      expect(result.statusCode).toBe(502);
      bedrock = await startFakeBedrockAgentRuntime({});
    });
  });
});

/** The Dify facts the app and ADR 0012 cite, checked against the pinned sources when they are present. */
const DIFY_REFERENCE = path.join(__dirname, '..', '..', '..', 'shared', 'reference', 'dify-1.13.3');
(fs.existsSync(DIFY_REFERENCE) ? describe : describe.skip)('cited Dify 1.13.3 lines', () => {
  function line(file: string, number: number): string {
    return fs.readFileSync(path.join(DIFY_REFERENCE, file), 'utf8').split('\n')[number - 1] ?? '';
  }
  const service = 'api/services/external_knowledge_service.py';

  test('registration probe: POST {endpoint}/retrieval with only the Authorization header; 502/404/403 refused', () => {
    expect(line(service, 84)).toContain(`endpoint = f"{settings['endpoint']}/retrieval"`);
    expect(line(service, 94)).toContain('ssrf_proxy.post(endpoint, headers={"Authorization": f"Bearer {api_key}"})');
    expect([97, 99, 101].map((n) => line(service, n).trim())).toEqual([
      'if response.status_code == 502:',
      'if response.status_code == 404:',
      'if response.status_code == 403:',
    ]);
  });

  test('retrieval: the body Dify builds, threshold 0.0 when disabled, records of a 200', () => {
    expect(line(service, 308)).toContain('if score_threshold_enabled else 0.0');
    expect(line(service, 315)).toContain('"knowledge_id": external_knowledge_binding.external_knowledge_id');
    expect(line(service, 316)).toContain('"metadata_condition": metadata_condition.model_dump()');
    expect(line(service, 329)).toContain('response.json().get("records", [])');
  });

  test('timeouts and retries of ssrf_proxy', () => {
    expect(line('api/configs/feature/__init__.py', 529)).toContain('SSRF_DEFAULT_MAX_RETRIES');
    expect(line('api/configs/feature/__init__.py', 559)).toContain('SSRF_DEFAULT_READ_TIME_OUT');
    expect(line('api/configs/feature/__init__.py', 561)).toContain('default=5');
  });
});
