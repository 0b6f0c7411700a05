import { parseArgs, ParseArgsConfig } from 'node:util';
import { BenchUsageError } from './errors';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where a command writes, plus optional AWS client settings (tests pass fake credentials here). */
export interface BenchIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  aws?: { credentials?: StaticCredentials; region?: string };
}

export const processIo: BenchIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  out: { type: 'string' },
  label: { type: 'string' },
  'time-limit': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export const AWS_OPTIONS = {
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  'poll-ms': { type: 'string' },
} as const satisfies OptionSpec;

export type ParsedValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** node:util parseArgs, with its TypeErrors turned into usage errors that name the command. */
export function parseCommandArgs(
  command: string,
  argv: string[],
  options: OptionSpec,
  allowPositionals = false,
): { values: ParsedValues; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals });
    // parseArgs' value type is a union of the declared option types; ours are all string or boolean.
    return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BenchUsageError(`${command}: ${message.replace(/\. To specify a positional argument.*$/s, '')}`);
  }
}

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requireString(command: string, values: ParsedValues, name: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value.trim() === '') throw new BenchUsageError(`${command}: --${name} is required`);
  return value;
}

/** Integer option within bounds; "abc", "1.5", "-3" get an error naming the option and the value. */
export function intOption(
  command: string,
  values: ParsedValues,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new BenchUsageError(`${command}: --${name} must be a whole number between ${min} and ${max}, got '${raw}'`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new BenchUsageError(`${command}: --${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** Seconds option (decimals allowed) returned in milliseconds. */
export function secondsOption(command: string, values: ParsedValues, name: string, fallbackSeconds: number): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallbackSeconds * 1000;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new BenchUsageError(
      `${command}: --${name} must be a number of seconds above 0 (at most 86400), got '${raw}'`,
    );
  }
  return value * 1000;
}

/** http(s) URL with a host; anything else is a usage error quoting what was given. */
export function urlOption(command: string, name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BenchUsageError(`${command}: --${name} is not a valid URL: '${raw}' (expected https://host/path)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BenchUsageError(`${command}: --${name} must be an http:// or https:// URL, got '${raw}'`);
  }
  return url;
}

/** Stops a run at its overall time limit, whatever its request count. */
export class Deadline {
  private readonly endsAt: number;
  constructor(readonly limitMs: number) {
    this.endsAt = Date.now() + limitMs;
  }
  get expired(): boolean {
    return Date.now() >= this.endsAt;
  }
  get remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }
  get description(): string {
    // Up to one decimal, so a short limit (--time-limit 0.4) does not read as "0 s".
    return `overall time limit of ${Math.round(this.limitMs / 100) / 10} s reached`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
