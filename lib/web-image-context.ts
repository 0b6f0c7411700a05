import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './bundled-function';

const SOURCE_DIRECTORY = path.join(PROJECT_ROOT, 'functions/dify-web-image');
/** Files of the web image's build context copied as they are. */
const STATIC_FILES = ['Dockerfile', 'lambda-entrypoint.sh'];
/** Name of the bundled site-URL reader inside the build context (the Dockerfile copies it). */
export const SITE_URL_SCRIPT = 'site-url.js';

/**
 * Builds the web image's Docker build context under `outdir`: the Dockerfile, the entry script and the site-URL
 * reader bundled by the local esbuild into one file with its AWS SDK client. The dify-web image has Node but no npm
 * packages of ours, and a bundle made here is pinned by package-lock.json like every other function of this app.
 * The directory is named after the hash of its content, so the image asset hash is stable and concurrent synths
 * never write into the same directory.
 */
export function webImageContext(outdir: string): string {
  const bundle = buildSync({
    entryPoints: [path.join(SOURCE_DIRECTORY, 'site-url.ts')],
    bundle: true,
    platform: 'node',
    // dify-web 1.13.3 runs on Node 22; 18 keeps the bundle valid on any Node the image may move to.
    target: 'node18',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  }).outputFiles[0].contents;
  const files = new Map<string, Uint8Array>(
    STATIC_FILES.map((name) => [name, fs.readFileSync(path.join(SOURCE_DIRECTORY, name))]),
  );
  files.set(SITE_URL_SCRIPT, bundle);
  const hash = createHash('sha256');
  for (const [name, content] of files) hash.update(name).update('\0').update(content).update('\0');
  const target = path.join(outdir, `.dify-web-image-${hash.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(target)) return target;
  const staging = fs.mkdtempSync(`${target}-`);
  for (const [name, content] of files) fs.writeFileSync(path.join(staging, name), content, { mode: 0o644 });
  try {
    fs.renameSync(staging, target);
  } catch (error) {
    // Another synth made the same directory first: its content is identical.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!fs.existsSync(target)) throw error;
  }
  return target;
}
