import { request as httpRequest } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repositoryRoot = resolve(__dirname, '..', '..');
export const apiImageDirectory = join(repositoryRoot, 'functions', 'dify-api-image');
export const webImageDirectory = join(repositoryRoot, 'functions', 'dify-web-image');
export const secretsLoaderPath = join(apiImageDirectory, 'secrets_loader.py');

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What the env printer saw: its arguments and its whole environment. */
export interface PrintedEnvironment {
  readonly argv: string[];
  readonly env: Record<string, string>;
}

/**
 * Runs a process asynchronously (the fake AWS server lives in this same event loop, so a
 * synchronous spawn would deadlock) and collects its output.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<ProcessResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/**
 * Writes a script (no spaces in its path) that prints its argv and environment as one JSON line.
 * The caller removes the returned directory when done.
 */
export function writeEnvironmentPrinter(): { scriptPath: string; directory: string } {
  const directory = mkdtempSync(join(tmpdir(), 'dify-edge-env-printer-'));
  const scriptPath = join(directory, 'print_environment.py');
  writeFileSync(
    scriptPath,
    'import json, os, sys\nprint(json.dumps({"argv": sys.argv[1:], "env": dict(os.environ)}))\n',
    'utf8',
  );
  return { scriptPath, directory };
}

export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}

export function parsePrinted(stdout: string): PrintedEnvironment {
  const lastLine = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(lastLine) as PrintedEnvironment;
}

/**
 * A clean environment for the loader: only PATH from the host (to find python3 and bash), fake
 * credentials, and no shared config files, so no host AWS setting can leak into a test.
 */
export function isolatedAwsEnvironment(endpoint: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
    AWS_REGION: 'ap-northeast-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * A first port for a test's own servers started by child processes (which bind it themselves, later). Below Linux's
 * default ephemeral range (32768-60999, net.ipv4.ip_local_port_range), so no outgoing connection of a test running
 * in parallel can hold it; random, so two test files rarely start at the same place. Count up from it.
 */
export function firstTestPort(): number {
  return 10_000 + Math.floor(Math.random() * 20_000);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** An HTTP request to 127.0.0.1 with the path sent as is (fetch would normalize `/x/..` and `//` away). */
export function request(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((done, fail) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, path, method }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: keep the text.
        }
        done({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    outgoing.on('error', fail);
    outgoing.end();
  });
}
