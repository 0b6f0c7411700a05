import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webImageContext } from '../../lib/web-image-context';
import { apiImageDirectory, repositoryRoot, runProcess, secretsLoaderPath, webImageDirectory } from './process-helpers';

interface Instruction {
  readonly keyword: string;
  readonly argument: string;
}

/** Splits a Dockerfile into instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(path: string): Instruction[] {
  const logicalLines: string[] = [];
  let pending = '';
  for (const rawLine of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*#/.test(rawLine)) continue;
    const line = rawLine.trimEnd();
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    pending += line;
    if (pending.trim() !== '') logicalLines.push(pending.trim());
    pending = '';
  }
  return logicalLines.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), argument: rest.join(' ') };
  });
}

const scratchDirectories: string[] = [];

function scratchDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  scratchDirectories.push(directory);
  return directory;
}

afterAll(() => {
  for (const directory of scratchDirectories) rmSync(directory, { recursive: true, force: true });
});

const images = [
  { label: 'dify-api', directory: apiImageDirectory, baseImage: 'langgenius/dify-api' },
  // The web image's build context is staged by the CDK app (the site-URL reader is bundled into it).
  {
    label: 'dify-web',
    directory: webImageContext(scratchDirectory('dify-edge-web-context-')),
    baseImage: 'langgenius/dify-web',
  },
];

describe.each(images)('$label Dockerfile (structural check: parsed text, the image is not built here)', (image) => {
  const instructions = parseDockerfile(join(image.directory, 'Dockerfile'));
  const of = (keyword: string): string[] =>
    instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.argument);

  test('declares the version ARGs before the first FROM, DIFY_VERSION without a default', () => {
    const firstFrom = instructions.findIndex((instruction) => instruction.keyword === 'FROM');
    const globalArgs = instructions.slice(0, firstFrom).filter((instruction) => instruction.keyword === 'ARG');
    expect(globalArgs.map((instruction) => instruction.argument)).toEqual(['DIFY_VERSION', 'LWA_VERSION=1.1.0']);
  });

  test('FROM lines use the ARG tags; the final stage is the Dify image; nothing says latest', () => {
    const fromLines = of('FROM');
    expect(fromLines).toEqual([
      'public.ecr.aws/awsguru/aws-lambda-adapter:${LWA_VERSION} AS web-adapter',
      `${image.baseImage}:\${DIFY_VERSION}`,
    ]);
    for (const instruction of instructions) {
      expect(instruction.argument).not.toMatch(/:latest\b/);
    }
  });

  test('copies the adapter binary to /opt/extensions/lambda-adapter', () => {
    expect(of('COPY')).toContain('--from=web-adapter /lambda-adapter /opt/extensions/lambda-adapter');
  });

  test('every local COPY source exists and the ENTRYPOINT script is one of the copied files', () => {
    const copiedDestinations: string[] = [];
    for (const argument of of('COPY').filter((copy) => !copy.startsWith('--from='))) {
      const parts = argument.split(/\s+/).filter((part) => !part.startsWith('--'));
      const destination = parts.pop() ?? '';
      for (const source of parts) {
        expect(existsSync(join(image.directory, source))).toBe(true);
        copiedDestinations.push(destination.endsWith('/') ? `${destination}${source}` : destination);
      }
    }
    const [entrypoint] = of('ENTRYPOINT');
    const entrypointArray = JSON.parse(entrypoint) as string[];
    expect(entrypointArray).toHaveLength(2);
    expect(copiedDestinations).toContain(entrypointArray[1]);
  });
});

describe('SnapStart label (Lambda DG "Implementing SnapStart hooks for container images")', () => {
  const labels = (directory: string): string[] =>
    parseDockerfile(join(directory, 'Dockerfile'))
      .filter((instruction) => instruction.keyword === 'LABEL')
      .map((instruction) => instruction.argument);

  test('the api image allows SnapStart (not an AWS base image: publishing a SnapStart version fails without it)', () => {
    expect(labels(apiImageDirectory)).toContain('com.amazonaws.lambda.feature.snapstart="Allow"');
  });

  test('the web image does not claim SnapStart support (it is not snapshotted, docs/adr/0017)', () => {
    expect(labels(webImageContext(scratchDirectory('dify-edge-web-context-'))).join('\n')).not.toContain('snapstart');
  });
});

describe('dify-api Dockerfile bytecode step (structural check plus a run of its shell on a fake tree)', () => {
  const instructions = parseDockerfile(join(apiImageDirectory, 'Dockerfile'));
  const compileStep = instructions.find(
    (instruction) => instruction.keyword === 'RUN' && instruction.argument.includes('compileall'),
  );

  test('precompiles the app and its venv with unchecked-hash pycs', () => {
    expect(compileStep?.argument).toMatch(/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash/);
    expect(compileStep?.argument).toContain(' /app/api ');
  });

  /**
   * Rewrites the image's absolute paths into a scratch root and runs the real RUN command with sh,
   * so compileall's flags, the failure tolerance and the permission fix-up are exercised for real.
   */
  function runCompileStepOn(root: string, fakeStdlib: string): Promise<{ code: number | null; stderr: string }> {
    const command = (compileStep?.argument ?? 'false')
      .replace(/\$\(python -c '[^']*'\)/, fakeStdlib)
      .replace(/(?<=[\s"'])(\/app|\/opt\/dify-edge|\/opt\/extensions|\/entrypoint\.sh)(?=[/\s"']|$)/g, `${root}$1`);
    const shimDirectory = join(root, 'shim-bin');
    mkdirSync(shimDirectory, { recursive: true });
    const python3 = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
    symlinkSync(python3, join(shimDirectory, 'python'));
    return runProcess('sh', ['-c', command], { PATH: `${shimDirectory}:${process.env.PATH ?? '/usr/bin:/bin'}` });
  }

  function buildFakeTree(withApp: boolean): { root: string; fakeStdlib: string } {
    const root = scratchDirectory('dify-api-image-tree-');
    const sitePackages = join(root, 'app/api/.venv/lib/python3/site-packages');
    mkdirSync(join(sitePackages, 'gevent_like'), { recursive: true });
    mkdirSync(join(root, 'opt/dify-edge'), { recursive: true });
    mkdirSync(join(root, 'opt/extensions'), { recursive: true });
    if (withApp) writeFileSync(join(root, 'app/api/app.py'), 'from gevent_like import worker\n');
    writeFileSync(join(sitePackages, 'gevent_like/__init__.py'), 'worker = "gevent"\n');
    // Wheels do ship files that are not valid Python (fixtures, templates): the build must survive them.
    writeFileSync(join(sitePackages, 'gevent_like/broken_fixture.py'), 'def broken(:\n');
    writeFileSync(join(root, 'opt/dify-edge/secrets_loader.py'), readFileSync(secretsLoaderPath));
    for (const module of ['snapstart_app.py', 'backend_wake.py', 'edge_app.py']) {
      writeFileSync(join(root, 'opt/dify-edge', module), readFileSync(join(apiImageDirectory, module)));
    }
    writeFileSync(join(root, 'opt/extensions/lambda-adapter'), '#!/bin/sh\n');
    chmodSync(join(root, 'opt/extensions/lambda-adapter'), 0o700);
    writeFileSync(join(root, 'entrypoint.sh'), '#!/bin/bash\n');
    chmodSync(join(root, 'entrypoint.sh'), 0o600);
    mkdirSync(join(root, 'app/api/private_dir'));
    writeFileSync(join(root, 'app/api/private_dir/owner_only.py'), 'VALUE = 1\n');
    chmodSync(join(root, 'app/api/private_dir/owner_only.py'), 0o600);
    chmodSync(join(root, 'app/api/private_dir'), 0o700);
    const fakeStdlib = join(root, 'stdlib');
    mkdirSync(fakeStdlib);
    writeFileSync(join(fakeStdlib, 'json_like.py'), 'import os\n');
    return { root, fakeStdlib };
  }

  function pycFlags(directory: string, moduleName: string): number {
    const cacheDirectory = join(directory, '__pycache__');
    const pyc = readdirSync(cacheDirectory).find((file) => file.startsWith(`${moduleName}.`) && file.endsWith('.pyc'));
    expect(pyc).toBeDefined();
    // PEP 552 header: magic (4 bytes) then a little-endian flags word; 0b01 = hash-based, unchecked.
    return readFileSync(join(cacheDirectory, pyc ?? '')).readUInt32LE(4);
  }

  test('compiles app, venv, loader and stdlib to unchecked-hash pycs and fixes only unreadable files', async () => {
    const { root, fakeStdlib } = buildFakeTree(true);
    const alreadyReadable = join(root, 'app/api/.venv/lib/python3/site-packages/gevent_like/__init__.py');
    const changeTimeBefore = statSync(alreadyReadable).ctimeMs;

    const result = await runCompileStepOn(root, fakeStdlib);

    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('No such file');
    expect(pycFlags(join(root, 'app/api'), 'app')).toBe(0b01);
    expect(pycFlags(join(root, 'app/api/.venv/lib/python3/site-packages/gevent_like'), '__init__')).toBe(0b01);
    expect(pycFlags(join(root, 'opt/dify-edge'), 'secrets_loader')).toBe(0b01);
    for (const module of ['snapstart_app', 'backend_wake', 'edge_app']) {
      expect(pycFlags(join(root, 'opt/dify-edge'), module)).toBe(0b01);
    }
    expect(pycFlags(fakeStdlib, 'json_like')).toBe(0b01);
    expect(statSync(join(root, 'app/api/private_dir')).mode & 0o005).toBe(0o005);
    expect(statSync(join(root, 'app/api/private_dir/owner_only.py')).mode & 0o004).toBe(0o004);
    expect(statSync(join(root, 'entrypoint.sh')).mode & 0o004).toBe(0o004);
    expect(statSync(join(root, 'opt/extensions/lambda-adapter')).mode & 0o005).toBe(0o005);
    // A file that was already world-readable is left alone (no copy-up into a new image layer).
    expect(statSync(alreadyReadable).ctimeMs).toBe(changeTimeBefore);
  });

  test('fails the build when the app was not compiled (guard against a silently skipped compile)', async () => {
    const { root, fakeStdlib } = buildFakeTree(false);
    const result = await runCompileStepOn(root, fakeStdlib);
    expect(result.code).not.toBe(0);
  });
});

describe('dify-web Dockerfile cache step (run of its shell on a fake tree)', () => {
  const instructions = parseDockerfile(join(webImageDirectory, 'Dockerfile'));
  const cacheStep = instructions.find(
    (instruction) => instruction.keyword === 'RUN' && instruction.argument.includes('.next/cache'),
  );

  test('replaces .next/cache with a symlink to /tmp/next-cache and makes files world-readable', async () => {
    const root = scratchDirectory('dify-web-image-tree-');
    mkdirSync(join(root, 'app/web/.next/cache/images'), { recursive: true });
    mkdirSync(join(root, 'opt/dify-edge'), { recursive: true });
    mkdirSync(join(root, 'opt/extensions'), { recursive: true });
    writeFileSync(join(root, 'app/web/server.js'), '// next standalone server\n');
    chmodSync(join(root, 'app/web/server.js'), 0o600);
    writeFileSync(join(root, 'opt/extensions/lambda-adapter'), '#!/bin/sh\n');
    chmodSync(join(root, 'opt/extensions/lambda-adapter'), 0o700);
    const command = (cacheStep?.argument ?? 'false').replace(
      /(?<=[\s"'])(\/app|\/opt\/dify-edge|\/opt\/extensions)(?=[/\s"']|$)/g,
      `${root}$1`,
    );

    const result = await runProcess('sh', ['-c', command], { PATH: process.env.PATH ?? '/usr/bin:/bin' });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const cachePath = join(root, 'app/web/.next/cache');
    expect(lstatSync(cachePath).isSymbolicLink()).toBe(true);
    expect(readlinkSync(cachePath)).toBe('/tmp/next-cache');
    expect(statSync(join(root, 'app/web/server.js')).mode & 0o004).toBe(0o004);
    expect(statSync(join(root, 'opt/extensions/lambda-adapter')).mode & 0o005).toBe(0o005);
  });
});

describe('dify-backend-image Dockerfile (the Celery workers: Dify api image plus the running-task hook)', () => {
  const directory = join(repositoryRoot, 'functions', 'dify-backend-image');
  const instructions = parseDockerfile(join(directory, 'Dockerfile'));
  const of = (keyword: string): string[] =>
    instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.argument);

  test('DIFY_VERSION without a default; both stages are the Dify api image at that tag; nothing says latest', () => {
    const firstFrom = instructions.findIndex((instruction) => instruction.keyword === 'FROM');
    expect(instructions.slice(0, firstFrom).map((i) => `${i.keyword} ${i.argument}`)).toEqual(['ARG DIFY_VERSION']);
    expect(of('FROM')).toEqual([
      'langgenius/dify-api:${DIFY_VERSION} AS compile',
      'langgenius/dify-api:${DIFY_VERSION}',
    ]);
    for (const instruction of instructions) expect(instruction.argument).not.toMatch(/:latest\b/);
  });

  test("the final stage adds only the compiled hook: it keeps the image's user, entrypoint and command", () => {
    const finalStage = instructions.slice(instructions.map((i) => i.keyword).lastIndexOf('FROM') + 1);
    expect(finalStage).toEqual([{ keyword: 'COPY', argument: '--from=compile /opt/dify-edge /opt/dify-edge' }]);
    for (const source of of('COPY').filter((copy) => !copy.startsWith('--from='))) {
      for (const file of source.split(/\s+/).slice(0, -1)) expect(existsSync(join(directory, file))).toBe(true);
    }
  });

  test('the compile step writes an unchecked-hash pyc of the hook, world-readable (run on a fake tree)', async () => {
    const step = instructions.find((i) => i.keyword === 'RUN' && i.argument.includes('compileall'));
    const root = scratchDirectory('dify-backend-image-tree-');
    mkdirSync(join(root, 'opt/dify-edge'), { recursive: true });
    writeFileSync(join(root, 'opt/dify-edge/worker_activity.py'), readFileSync(join(directory, 'worker_activity.py')));
    chmodSync(join(root, 'opt/dify-edge/worker_activity.py'), 0o600);
    const shim = join(root, 'shim-bin');
    mkdirSync(shim);
    symlinkSync(execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim(), join(shim, 'python'));
    const command = (step?.argument ?? 'false').replace(
      /(?<=[\s"'])\/opt\/dify-edge(?=[/\s"']|$)/g,
      `${root}/opt/dify-edge`,
    );
    const result = await runProcess('sh', ['-c', command], { PATH: `${shim}:${process.env.PATH ?? '/usr/bin:/bin'}` });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const cache = join(root, 'opt/dify-edge/__pycache__');
    const pyc = readdirSync(cache).find((file) => file.startsWith('worker_activity.') && file.endsWith('.pyc')) ?? '';
    expect(readFileSync(join(cache, pyc)).readUInt32LE(4)).toBe(0b01);
    expect(statSync(join(root, 'opt/dify-edge/worker_activity.py')).mode & 0o004).toBe(0o004);
  });
});
