/**
 * The execution role's credentials as Lambda hands them to every runtime: environment variables (AWS Lambda DG
 * "Defined runtime environment variables"). LLRT functions bundle SDK pieces for the browser platform, which have no
 * default credential chain, so they read these directly.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The value of a variable the function cannot run without. */
export function required(env: Environment, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function credentialsFromEnvironment(env: Environment): StaticCredentials {
  return {
    accessKeyId: required(env, 'AWS_ACCESS_KEY_ID'),
    secretAccessKey: required(env, 'AWS_SECRET_ACCESS_KEY'),
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}
