/**
 * Translation between Dify's External Knowledge API and the Bedrock Agent Runtime Retrieve API.
 *
 * Dify side: the request body Dify 1.13.3 builds in `api/services/external_knowledge_service.py:309-317`
 * (`retrieval_setting.top_k`, `retrieval_setting.score_threshold` — 0.0 when the threshold is switched off, line 308 —
 * `query`, `knowledge_id`, `metadata_condition`), and the condition model of `api/core/rag/entities/metadata_entities.py`
 * (SupportedComparisonOperator, Condition, MetadataCondition). Bedrock side: the Retrieve API and its RetrievalFilter
 * union (Amazon Bedrock API Reference, "Retrieve", "RetrievalFilter", "KnowledgeBaseVectorSearchConfiguration").
 * Which operator maps to what, and why the others are refused, is in docs/adr/0012-bedrock-knowledge-bases.md.
 */
import type {
  FilterAttribute,
  KnowledgeBaseRetrievalResult,
  RetrievalFilter,
  RetrieveCommandInput,
} from '@aws-sdk/client-bedrock-agent-runtime';

/** Dify's suggested error codes (its External Knowledge API docs); other failures use the HTTP status as code. */
export const ERROR_CODES = { invalidAuthorizationHeader: 1001, authorizationFailed: 1002, knowledgeNotFound: 2001 };

/** A request Dify sent that cannot be served; `status` and `errorCode` go into the error body. */
export class DifyRequestError extends Error {
  constructor(
    readonly status: 400 | 404,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'DifyRequestError';
  }
}

function invalid(message: string): DifyRequestError {
  return new DifyRequestError(400, 400, message);
}

/** numberOfResults accepts 1..100 (KnowledgeBaseVectorSearchConfiguration, "Valid Range"). */
export const MAX_NUMBER_OF_RESULTS = 100;

/** FilterAttribute key: 1..100 characters (Amazon Bedrock API Reference, "FilterAttribute"). */
const MAX_FILTER_KEY_LENGTH = 100;

type FilterMember =
  | 'equals'
  | 'notEquals'
  | 'greaterThan'
  | 'greaterThanOrEquals'
  | 'lessThan'
  | 'lessThanOrEquals'
  | 'in'
  | 'notIn'
  | 'startsWith'
  | 'stringContains';

/** What the condition's `value` must be for the Bedrock filter: kept as is, a number, a string, or a list. */
type Operand = 'scalar' | 'number' | 'string' | 'list';

/**
 * Dify's comparison operators that have a Bedrock RetrievalFilter equivalent. `before`/`after` compare numbers:
 * Dify keeps time metadata as Unix timestamps, so the Bedrock attribute must hold a number too.
 */
export const SUPPORTED_OPERATORS: Readonly<Record<string, { member: FilterMember; operand: Operand }>> = {
  is: { member: 'equals', operand: 'scalar' },
  'is not': { member: 'notEquals', operand: 'scalar' },
  '=': { member: 'equals', operand: 'number' },
  '≠': { member: 'notEquals', operand: 'number' },
  '>': { member: 'greaterThan', operand: 'number' },
  '<': { member: 'lessThan', operand: 'number' },
  '≥': { member: 'greaterThanOrEquals', operand: 'number' },
  '≤': { member: 'lessThanOrEquals', operand: 'number' },
  before: { member: 'lessThan', operand: 'number' },
  after: { member: 'greaterThan', operand: 'number' },
  in: { member: 'in', operand: 'list' },
  'not in': { member: 'notIn', operand: 'list' },
  // stringContains matches a substring of a string attribute or of a member of a list attribute, which is what
  // Dify's `contains` means "for string or array".
  contains: { member: 'stringContains', operand: 'string' },
  // Bedrock documents startsWith for OpenSearch Serverless vector stores only; other stores answer
  // ValidationException, which is passed on as a 400 with Bedrock's message.
  'start with': { member: 'startsWith', operand: 'string' },
};

/**
 * Dify's operators with no Bedrock equivalent. They are refused, not ignored: dropping a condition silently
 * would return documents the caller meant to exclude.
 */
export const UNSUPPORTED_OPERATORS: Readonly<Record<string, string>> = {
  'not contains': 'RetrievalFilter has no negated substring match',
  'end with': 'RetrievalFilter has no suffix match',
  empty: 'RetrievalFilter cannot test that an attribute is missing or empty',
  'not empty': 'RetrievalFilter cannot test that an attribute is present',
};

/** The parts of Dify's request the function uses. */
export interface DifyRetrievalRequest {
  readonly knowledgeId: string;
  readonly query: string;
  /** undefined: Dify sent no top_k, Bedrock's default applies. */
  readonly topK?: number;
  readonly scoreThreshold: number;
  readonly filter?: RetrievalFilter;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOperand(name: string, operator: string, value: unknown): number {
  // Workflow variables often arrive as strings; a numeric string is as good as a number here.
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw invalid(`metadata_condition: "${name}" ${operator} needs a number, got ${JSON.stringify(value)}`);
  }
  return number;
}

function operandValue(name: string, operator: string, operand: Operand, value: unknown): FilterAttribute['value'] {
  switch (operand) {
    case 'number':
      return numberOperand(name, operator, value);
    case 'string':
      if (typeof value === 'string' && value !== '') return value;
      if (typeof value === 'number') return String(value);
      throw invalid(`metadata_condition: "${name}" ${operator} needs a non-empty string, got ${JSON.stringify(value)}`);
    case 'list': {
      // Dify's UI takes `in` values as one comma-separated text; programmatic callers send a list.
      const list = typeof value === 'string' ? value.split(',').map((item) => item.trim()) : value;
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        !list.every((item) => (typeof item === 'string' && item !== '') || typeof item === 'number')
      ) {
        throw invalid(
          `metadata_condition: "${name}" ${operator} needs a non-empty list of strings or numbers, got ${JSON.stringify(value)}`,
        );
      }
      return list;
    }
    case 'scalar':
      if ((typeof value === 'string' && value !== '') || typeof value === 'number' || typeof value === 'boolean') {
        return value;
      }
      throw invalid(`metadata_condition: "${name}" ${operator} needs a value, got ${JSON.stringify(value)}`);
  }
}

function conditionFilter(condition: unknown, index: number): RetrievalFilter {
  if (!isObject(condition)) throw invalid(`metadata_condition.conditions[${index}] must be an object`);
  const { name, comparison_operator: operator, value } = condition;
  if (typeof name !== 'string' || name === '' || name.length > MAX_FILTER_KEY_LENGTH) {
    throw invalid(`metadata_condition.conditions[${index}].name must be a metadata name of 1-100 characters`);
  }
  if (typeof operator !== 'string') {
    throw invalid(`metadata_condition.conditions[${index}].comparison_operator must be a string`);
  }
  const unsupportedReason = UNSUPPORTED_OPERATORS[operator];
  if (unsupportedReason) {
    throw invalid(
      `metadata_condition: the operator "${operator}" (on "${name}") cannot be applied to a Bedrock knowledge base: ` +
        `${unsupportedReason}. Supported: ${Object.keys(SUPPORTED_OPERATORS).join(', ')}`,
    );
  }
  const supported = Object.prototype.hasOwnProperty.call(SUPPORTED_OPERATORS, operator)
    ? SUPPORTED_OPERATORS[operator]
    : undefined;
  if (!supported) {
    throw invalid(
      `metadata_condition: unknown operator ${JSON.stringify(operator)}; supported: ${Object.keys(SUPPORTED_OPERATORS).join(', ')}`,
    );
  }
  const attribute: FilterAttribute = { key: name, value: operandValue(name, operator, supported.operand, value) };
  // The union wants exactly one member; the cast names which one at run time.
  return { [supported.member]: attribute } as unknown as RetrievalFilter;
}

/** Dify's metadata_condition as one Bedrock RetrievalFilter (undefined: no condition). */
export function retrievalFilter(metadataCondition: unknown): RetrievalFilter | undefined {
  if (metadataCondition === undefined || metadataCondition === null) return undefined;
  if (!isObject(metadataCondition)) throw invalid('metadata_condition must be an object or null');
  const logical = metadataCondition.logical_operator ?? 'and';
  if (logical !== 'and' && logical !== 'or') {
    throw invalid(`metadata_condition.logical_operator must be "and" or "or", got ${JSON.stringify(logical)}`);
  }
  const conditions = metadataCondition.conditions ?? [];
  if (!Array.isArray(conditions)) throw invalid('metadata_condition.conditions must be a list');
  const filters = conditions.map(conditionFilter);
  if (filters.length === 0) return undefined;
  // andAll and orAll need at least two members (RetrievalFilter, "Array Members: Minimum number of 2 items").
  if (filters.length === 1) return filters[0];
  return logical === 'and' ? { andAll: filters } : { orAll: filters };
}

/** Validates Dify's request body (already parsed JSON) against the knowledge bases this deployment serves. */
export function parseRetrievalRequest(body: unknown, knowledgeBaseIds: readonly string[]): DifyRetrievalRequest {
  if (!isObject(body)) throw invalid('the request body must be a JSON object');
  const { knowledge_id: knowledgeId, query, retrieval_setting: setting } = body;
  if (typeof knowledgeId !== 'string' || knowledgeId === '') throw invalid('knowledge_id must be a non-empty string');
  if (!knowledgeBaseIds.includes(knowledgeId)) {
    throw new DifyRequestError(
      404,
      ERROR_CODES.knowledgeNotFound,
      `The knowledge is not exist: ${knowledgeId} is not one of the knowledge bases this API serves`,
    );
  }
  if (typeof query !== 'string' || query.trim() === '') throw invalid('query must be a non-empty string');
  if (setting !== undefined && setting !== null && !isObject(setting)) {
    throw invalid('retrieval_setting must be an object');
  }
  const topK = setting?.top_k;
  if (topK !== undefined && topK !== null && (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1)) {
    throw invalid(`retrieval_setting.top_k must be a positive integer, got ${JSON.stringify(topK)}`);
  }
  const threshold = setting?.score_threshold ?? 0;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw invalid(`retrieval_setting.score_threshold must be a number, got ${JSON.stringify(threshold)}`);
  }
  return {
    knowledgeId,
    query,
    topK: typeof topK === 'number' ? Math.min(topK, MAX_NUMBER_OF_RESULTS) : undefined,
    scoreThreshold: threshold,
    filter: retrievalFilter(body.metadata_condition),
  };
}

/** The Retrieve call for one Dify request. */
export function retrieveInput(request: DifyRetrievalRequest): RetrieveCommandInput {
  return {
    knowledgeBaseId: request.knowledgeId,
    retrievalQuery: { text: request.query },
    retrievalConfiguration: {
      vectorSearchConfiguration: {
        ...(request.topK !== undefined ? { numberOfResults: request.topK } : {}),
        ...(request.filter ? { filter: request.filter } : {}),
      },
    },
  };
}

/** One record of Dify's answer (`{"records": [...]}`). Dify needs metadata to be an object, never null. */
export interface DifyRecord {
  readonly content: string;
  readonly score: number;
  readonly title: string;
  readonly metadata: Record<string, unknown>;
}

/**
 * Metadata Bedrock adds to every chunk next to the user's own (KnowledgeBaseRetrievalResult.metadata; Amazon Bedrock
 * User Guide, "Metadata and filtering").
 */
const SOURCE_URI_KEY = 'x-amz-bedrock-kb-source-uri';
const PAGE_NUMBER_KEY = 'x-amz-bedrock-kb-document-page-number';

/** Where the chunk came from: the URI, URL, id or query that identifies the source document. */
function sourceOf(result: KnowledgeBaseRetrievalResult): string | undefined {
  const location = result.location;
  const fromLocation =
    location?.s3Location?.uri ??
    location?.webLocation?.url ??
    location?.confluenceLocation?.url ??
    location?.salesforceLocation?.url ??
    location?.sharePointLocation?.url ??
    location?.oneDriveLocation?.url ??
    location?.googleDriveLocation?.url ??
    location?.kendraDocumentLocation?.uri ??
    location?.customDocumentLocation?.id ??
    location?.sqlLocation?.query;
  const fromMetadata = result.metadata?.[SOURCE_URI_KEY];
  return fromLocation ?? (typeof fromMetadata === 'string' ? fromMetadata : undefined);
}

function fileName(uri: string): string {
  const withoutQuery = uri.split(/[?#]/)[0];
  const last = withoutQuery.replace(/\/+$/, '').split('/').pop() ?? '';
  try {
    return decodeURIComponent(last) || uri;
  } catch {
    return last || uri;
  }
}

/** S3 (and Kendra) sources are files: their name is the title. Web-like sources keep the whole URL. */
function titleOf(result: KnowledgeBaseRetrievalResult, source: string | undefined): string {
  if (!source) return result.documentId ?? '';
  const type = result.location?.type;
  if (type === 'S3' || type === 'KENDRA' || (!type && source.startsWith('s3://'))) return fileName(source);
  return source;
}

/** The chunk as text. Rows of structured stores become `column: value` lines; media use their transcript. */
function contentOf(result: KnowledgeBaseRetrievalResult): string | undefined {
  const content = result.content;
  if (!content) return undefined;
  if (typeof content.text === 'string' && content.text !== '') return content.text;
  if (content.row && content.row.length > 0) {
    return content.row.map((column) => `${column.columnName ?? ''}: ${column.columnValue ?? ''}`).join('\n');
  }
  return content.audio?.transcription ?? content.video?.summary ?? undefined;
}

/**
 * Dify records from Bedrock results, best first, without those below the threshold. Results without text (an image
 * chunk) are left out: Dify hands record content to the model as text.
 */
export function difyRecords(results: readonly KnowledgeBaseRetrievalResult[], scoreThreshold: number): DifyRecord[] {
  const records: DifyRecord[] = [];
  for (const result of results) {
    const score = result.score ?? 0;
    if (score < scoreThreshold) continue;
    const content = contentOf(result);
    if (content === undefined) continue;
    const source = sourceOf(result);
    const metadata: Record<string, unknown> = { ...(result.metadata ?? {}) };
    if (source !== undefined) metadata.source_uri = source;
    if (result.location?.type) metadata.location_type = result.location.type;
    if (result.documentId) metadata.document_id = result.documentId;
    const page = Number(result.metadata?.[PAGE_NUMBER_KEY]);
    if (result.metadata?.[PAGE_NUMBER_KEY] !== undefined && Number.isFinite(page)) metadata.page_number = page;
    records.push({ content, score, title: titleOf(result, source), metadata });
  }
  return records.sort((a, b) => b.score - a.score);
}
