/**
 * Helpers shared by the CloudFormation custom resource handlers in `functions/`.
 *
 * CloudFormation hands every resource property to the handler as a string (numbers and booleans
 * included) or as a list of strings, so each reader below checks the shape and names the property
 * in its error: the message ends up verbatim in the stack events, which is all a deployer sees.
 */

export type ResourceProperties = Readonly<Record<string, unknown>>;

export type LogLine = (entry: Record<string, unknown>) => void;

/** One JSON object per line, so CloudWatch Logs Insights can filter on `step`. */
export const logJsonLine: LogLine = (entry) => {
  console.log(JSON.stringify(entry));
};

export function readRequiredString(properties: ResourceProperties, name: string, resource: string): string {
  const value = properties[name];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`${resource}: resource property ${name} is required and must be a non-empty string`);
  }
  return value.trim();
}

export function readOptionalString(properties: ResourceProperties, name: string, resource: string): string | undefined {
  const value = properties[name];
  if (value === undefined || value === null || value === '') {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new Error(`${resource}: resource property ${name} must be a string when set`);
  }
  return value.trim();
}

export function readStringList(
  properties: ResourceProperties,
  name: string,
  resource: string,
  options: { allowEmpty: boolean },
): string[] {
  const value = properties[name];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.trim() === '')) {
    throw new Error(`${resource}: resource property ${name} is required and must be a list of non-empty strings`);
  }
  if (!options.allowEmpty && value.length === 0) {
    throw new Error(`${resource}: resource property ${name} must list at least one value`);
  }
  return value.map((item: string) => item.trim());
}

/** Human-readable `Name: message` of whatever an SDK call threw, without assuming it is an Error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return `${error.name}: ${error.message}`;
  }
  return String(error);
}
