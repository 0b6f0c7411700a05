/** Environment variable names the construct sets (lib/constructs/bedrock-knowledge-api.ts) and the handler reads. */
export const ENVIRONMENT = {
  /** Comma-separated knowledge base ids Dify may name in `knowledge_id`. */
  knowledgeBaseIds: 'KNOWLEDGE_BASE_IDS',
  /** Region of the knowledge bases (default: the function's AWS_REGION). */
  knowledgeBaseRegion: 'KNOWLEDGE_BASE_REGION',
  /** ARN of the Secrets Manager secret holding the API key. */
  apiKeySecretArn: 'API_KEY_SECRET_ARN',
} as const;
