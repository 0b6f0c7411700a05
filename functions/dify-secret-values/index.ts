/**
 * Custom resource (CDK Provider framework, onEvent only) that fills Dify's one JSON secret with generated values.
 *
 * Secrets Manager's own generator (GenerateSecretString) makes ONE random field per secret; Dify needs six shared
 * keys. One secret with six fields costs one secret-month instead of six and keeps the api function's environment
 * short (one ARN; Lambda caps the whole environment at 4 KB, Lambda DG "Working with Lambda environment
 * variables"). The values are generated here, inside the function, and only ever written to Secrets Manager: they
 * are never returned to CloudFormation, logged, or put in a template.
 *
 * Fields that already hold a value are kept on every event, so an update (or a replaced custom resource) never
 * changes a key a database, a cache or a running task already depends on. Delete does nothing: the secret itself
 * is retained or deleted by its own resource.
 */
import { randomInt } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describeError, logJsonLine, readRequiredString, type LogLine } from '../shared/custom-resource';

const RESOURCE_LABEL = 'Dify secret values';
/** Letters and digits only: the values end up in URLs (the Redis password in Celery's broker URL) and headers. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const FIELD_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const MIN_LENGTH = 16;
const MAX_LENGTH = 128;

export interface SecretValuesResponse {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly GeneratedFields: string };
}

/** Field name → length of the value to generate when the field is missing or empty. */
export type FieldLengths = Record<string, number>;

/** Parses the `Fields` property: a JSON object of field name → length (CloudFormation passes it as a string). */
export function parseFieldLengths(raw: unknown): FieldLengths {
  if (typeof raw !== 'string') {
    throw new Error(`${RESOURCE_LABEL}: resource property Fields must be a JSON string of field name → length`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${RESOURCE_LABEL}: resource property Fields is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw new Error(`${RESOURCE_LABEL}: resource property Fields must be a non-empty JSON object`);
  }
  const out: FieldLengths = {};
  for (const [name, length] of Object.entries(parsed)) {
    if (!FIELD_NAME_PATTERN.test(name)) {
      throw new Error(`${RESOURCE_LABEL}: field name ${JSON.stringify(name)} must be letters and digits`);
    }
    const value = typeof length === 'string' ? Number(length) : length;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_LENGTH || value > MAX_LENGTH) {
      throw new Error(
        `${RESOURCE_LABEL}: length of field ${name} must be an integer from ${MIN_LENGTH} to ${MAX_LENGTH}, got ${JSON.stringify(length)}`,
      );
    }
    out[name] = value;
  }
  return out;
}

/** A uniformly random alphanumeric string (crypto.randomInt is a CSPRNG without modulo bias). */
export function generateValue(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/**
 * Returns the secret's new JSON text and the names of the fields it generated. Existing non-empty string fields
 * and fields this resource does not manage are kept as they are.
 */
export function fillMissingFields(
  current: string | undefined,
  fields: FieldLengths,
  generate: (length: number) => string = generateValue,
): { text: string; generated: string[] } {
  let document: Record<string, unknown> = {};
  if (current !== undefined && current.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(current);
    } catch {
      // Never quote the text: it is a secret.
      throw new Error(`${RESOURCE_LABEL}: the secret's current value is not JSON; refusing to overwrite it`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${RESOURCE_LABEL}: the secret's current value is not a JSON object; refusing to overwrite it`);
    }
    document = parsed as Record<string, unknown>;
  }
  const generated: string[] = [];
  for (const [name, length] of Object.entries(fields)) {
    const value = document[name];
    if (typeof value === 'string' && value !== '') continue;
    if (value !== undefined && value !== null && value !== '') {
      throw new Error(`${RESOURCE_LABEL}: field ${name} of the secret is not a string; fix it by hand`);
    }
    document[name] = generate(length);
    generated.push(name);
  }
  return { text: JSON.stringify(document), generated };
}

export interface SecretValuesOptions {
  readonly secretsManager: SecretsManagerClient;
  readonly log?: LogLine;
}

export function createHandler(options: SecretValuesOptions) {
  const log = options.log ?? logJsonLine;
  const client = options.secretsManager;

  async function readCurrent(secretId: string): Promise<string | undefined> {
    try {
      const response = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return response.SecretString;
    } catch (error) {
      // A secret created without a value has no AWSCURRENT version yet.
      if (error instanceof ResourceNotFoundException) return undefined;
      throw new Error(`${RESOURCE_LABEL}: cannot read ${secretId}: ${describeError(error)}`);
    }
  }

  return async function onEvent(event: CloudFormationCustomResourceEvent): Promise<SecretValuesResponse> {
    const properties = event.ResourceProperties;
    const secretId = readRequiredString(properties, 'SecretArn', RESOURCE_LABEL);
    if (event.RequestType === 'Delete') {
      log({ step: 'delete', secretId, note: 'nothing to do; the secret resource decides what happens to it' });
      return { PhysicalResourceId: event.PhysicalResourceId, Data: { GeneratedFields: '' } };
    }
    const fields = parseFieldLengths(properties.Fields);
    const { text, generated } = fillMissingFields(await readCurrent(secretId), fields);
    if (generated.length > 0) {
      try {
        await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
      } catch (error) {
        throw new Error(`${RESOURCE_LABEL}: cannot write ${secretId}: ${describeError(error)}`);
      }
    }
    log({
      step: event.RequestType.toLowerCase(),
      secretId,
      generated,
      kept: Object.keys(fields).length - generated.length,
    });
    return { PhysicalResourceId: secretId, Data: { GeneratedFields: generated.join(',') } };
  };
}

export const onEvent = createHandler({ secretsManager: new SecretsManagerClient({}) });
