/** Bad command line: the CLI prints the message and the usage hint, exit code 2. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

/** A run that cannot go on (unreachable target, missing permission, timeout): exit code 1. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}

/** Node's network error codes, shortened to what a person needs to do next. */
export function describeNetworkError(url: string, error: unknown): string {
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${url}: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${url}: host name not found (DNS)`;
    case 'ETIMEDOUT':
      return `cannot reach ${url}: no answer before the request timeout`;
    case 'ECONNRESET':
      return `cannot reach ${url}: connection reset by the server`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${url}: network unreachable`;
    default:
      if (code && /CERT|SSL|TLS/.test(code)) return `cannot reach ${url}: TLS error ${code}`;
      return `cannot reach ${url}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // The SDK wraps socket errors; the original code sits on `cause`.
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error ? errorCode(cause) : undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/**
 * Runs one AWS API call and turns the errors people actually hit into one line that says what to fix.
 * `action` is the IAM action of the call (e.g. lambda:UpdateFunctionConfiguration) so a denial names it.
 */
export async function callAws<T>(
  action: string,
  resource: string,
  endpoint: string | undefined,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const message = error instanceof Error ? error.message : String(error);
    if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnauthorizedOperation') {
      throw new BenchError(`missing permission ${action} on ${resource}: ${message}`);
    }
    if (
      name === 'ResourceNotFoundException' ||
      name === 'ServiceNotFoundException' ||
      name === 'ClusterNotFoundException'
    ) {
      throw new BenchError(`${action} failed: ${resource} not found (${message})`);
    }
    if (name === 'CredentialsProviderError') {
      throw new BenchError(
        `no AWS credentials for ${action}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (${message})`,
      );
    }
    if (/region is missing/i.test(message)) {
      throw new BenchError(`no AWS region for ${action}: set AWS_REGION or pass --region`);
    }
    const code = errorCode(error);
    if (code && NETWORK_CODES.has(code)) {
      throw new BenchError(describeNetworkError(endpoint ?? `the ${action.split(':')[0]} endpoint`, error));
    }
    throw new BenchError(`${action} on ${resource} failed: ${name ? `${name}: ` : ''}${message}`);
  }
}
