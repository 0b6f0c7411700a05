/**
 * Builds an LLRT function's entry with the esbuild settings the CDK uses for it (lib/llrt-function.ts
 * `llrtBundling`), into `dir/index.mjs`, so a test can run the very bundle Lambda would get. The externals (the SDK
 * clients LLRT ships) resolve from the project's node_modules, as LLRT resolves them from the runtime.
 */
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { llrtBundling, type LlrtStandardSdkPackage } from '../../lib/llrt-function';

const ROOT = path.join(__dirname, '..', '..');

export async function buildLlrtBundle(
  entry: string,
  runtimeProvidedSdk: readonly LlrtStandardSdkPackage[],
  dir: string,
): Promise<void> {
  const options = llrtBundling(runtimeProvidedSdk);
  await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile: path.join(dir, 'index.mjs'),
    bundle: true,
    format: 'esm',
    platform: options.platform,
    target: options.target,
    minify: options.minify,
    external: options.external,
    logLevel: 'silent',
  });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}
