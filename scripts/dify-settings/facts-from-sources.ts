/**
 * Reads the facts of lib/dify-settings/ from upstream source trees: which environment variable names each pinned
 * image reads, and which files read them. Names and file paths only, never upstream code. generate.ts writes them;
 * test/dify/settings-read.test.ts compares them with the committed files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DifyImageId, ImageFacts, SettingFact } from '../../lib/dify-settings/facts';
import {
  EnvRead,
  envconfigReads,
  goGetenvReads,
  nameListReads,
  pydanticSettingsReads,
  pythonClasses,
  pythonEnvReads,
  shellEnvReads,
} from './parsers';

export interface SourceTrees {
  /** A checkout of langgenius/dify (the api and web images). */
  readonly dify: string;
  /** A checkout of langgenius/dify-plugin-daemon. */
  readonly pluginDaemon: string;
  /** A checkout of langgenius/dify-sandbox. */
  readonly sandbox: string;
  /** Release of the plugin daemon tree; taken from a `-X.Y.Z` suffix of its directory name when omitted. */
  readonly pluginDaemonVersion?: string;
  /** Release of the sandbox tree; taken from a `-X.Y.Z` suffix of its directory name when omitted. */
  readonly sandboxVersion?: string;
}

function read(tree: string, file: string): string {
  const full = path.join(tree, file);
  if (!fs.existsSync(full)) throw new Error(`${full} does not exist: is ${tree} the right source tree?`);
  return fs.readFileSync(full, 'utf8');
}

function pythonFilesUnder(tree: string, directory: string): string[] {
  return fs
    .readdirSync(path.join(tree, directory), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.py'))
    .map((file) => path.posix.join(directory, file.split(path.sep).join('/')))
    .sort();
}

const OUTSIDE_CONFIGS_LIST = 'ENV_READ_OUTSIDE_CONFIGS.txt';

/**
 * Names Dify's api reads with os.environ / os.getenv outside api/configs. A trimmed reference tree carries them as
 * ENV_READ_OUTSIDE_CONFIGS.txt (one name a line); a full checkout has the code itself, which is scanned instead
 * (api/tests excluded).
 */
function outsideConfigsReads(tree: string): { reads: EnvRead[]; source: string } {
  if (fs.existsSync(path.join(tree, OUTSIDE_CONFIGS_LIST))) {
    return {
      reads: nameListReads(read(tree, OUTSIDE_CONFIGS_LIST), OUTSIDE_CONFIGS_LIST),
      source: `${OUTSIDE_CONFIGS_LIST} (os.environ / os.getenv reads elsewhere in api/)`,
    };
  }
  const files = pythonFilesUnder(tree, 'api').filter((f) => !/^api\/(configs|tests)\//.test(f));
  return {
    reads: files.flatMap((file) => pythonEnvReads(read(tree, file), file)),
    source: 'os.environ / os.getenv reads in api/ outside api/configs/ and api/tests/',
  };
}

/** Sorted settings, each name once with the sorted files that read it. Only names that look like env names. */
function settingsOf(reads: readonly EnvRead[], caseSensitive: boolean): SettingFact[] {
  const byName = new Map<string, { name: string; files: Set<string> }>();
  for (const { name, file } of reads) {
    const key = caseSensitive ? name : name.toUpperCase();
    const entry = byName.get(key) ?? { name, files: new Set<string>() };
    entry.files.add(file);
    byName.set(key, entry);
  }
  return [...byName.values()]
    .map(({ name, files }) => ({ name, readIn: [...files].sort() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The single tag `image` is pinned to in Dify's docker-compose.yaml. */
function composeTag(compose: string, image: string): string {
  const escaped = image.replace(/[/.-]/g, (c) => `\\${c}`);
  const tags = new Set([...compose.matchAll(new RegExp(`image:\\s*${escaped}:(\\S+)`, 'g'))].map((m) => m[1]));
  if (tags.size !== 1) throw new Error(`docker/docker-compose.yaml pins ${image} to ${tags.size} tags: ${[...tags]}`);
  return [...tags][0];
}

function versionOf(tree: string, explicit: string | undefined, what: string): string {
  const version = explicit ?? /-(\d+\.\d+\.\d+[^/]*)$/.exec(path.basename(path.resolve(tree)))?.[1];
  if (!version) throw new Error(`cannot tell the ${what} release from ${tree}: pass its version explicitly`);
  return version;
}

function difyApiFacts(tree: string, version: string): ImageFacts {
  // Every settings class is mixed into DifyConfig (api/configs/app_config.py), the one object Dify reads
  // (api/configs/__init__.py); classes under api/configs that it does not inherit are not settings.
  const configFiles = pythonFilesUnder(tree, 'api/configs');
  const classes = configFiles.flatMap((file) => pythonClasses(read(tree, file), file));
  const settings = pydanticSettingsReads(classes, 'DifyConfig');
  const outside = outsideConfigsReads(tree);
  const reads: EnvRead[] = [
    ...settings.reads,
    ...configFiles.flatMap((file) => pythonEnvReads(read(tree, file), file)),
    ...outside.reads,
    ...shellEnvReads(read(tree, 'api/docker/entrypoint.sh'), 'api/docker/entrypoint.sh'),
    ...pythonEnvReads(read(tree, 'api/gunicorn.conf.py'), 'api/gunicorn.conf.py'),
  ];
  return {
    image: 'langgenius/dify-api',
    version,
    caseSensitive: settings.caseSensitive,
    sources: [
      'fields of the pydantic-settings class DifyConfig and every class it inherits (api/configs/)',
      'os.environ / os.getenv reads under api/configs/',
      outside.source,
      'variables api/docker/entrypoint.sh reads',
      'os.environ / os.getenv reads in api/gunicorn.conf.py',
    ],
    settings: settingsOf(reads, settings.caseSensitive),
  };
}

function difyWebFacts(tree: string, version: string): ImageFacts {
  return {
    image: 'langgenius/dify-web',
    version,
    caseSensitive: true,
    sources: [
      'variables web/docker/entrypoint.sh reads (it exports them as NEXT_PUBLIC_* before `exec node server.js`)',
    ],
    settings: settingsOf(shellEnvReads(read(tree, 'web/docker/entrypoint.sh'), 'web/docker/entrypoint.sh'), true),
  };
}

function pluginDaemonFacts(tree: string, version: string): ImageFacts {
  const config = 'internal/types/app/config.go';
  const defaults = 'internal/types/app/default.go';
  return {
    image: 'langgenius/dify-plugin-daemon',
    version,
    caseSensitive: true,
    sources: [
      `envconfig tags of the Config struct (${config})`,
      `os.Getenv / os.LookupEnv in ${config} and ${defaults} (which only fills defaults of Config fields)`,
    ],
    settings: settingsOf(
      [
        ...envconfigReads(read(tree, config), config, 'Config'),
        ...goGetenvReads(read(tree, config), config),
        ...goGetenvReads(read(tree, defaults), defaults),
      ],
      true,
    ),
  };
}

function sandboxFacts(tree: string, version: string): ImageFacts {
  const config = 'internal/static/config.go';
  // conf/config.yaml is decoded with gopkg.in/yaml.v3, which expands no environment variables: the yaml maps
  // no names, and every environment override is an os.Getenv in InitConfig.
  read(tree, 'conf/config.yaml');
  return {
    image: 'langgenius/dify-sandbox',
    version,
    caseSensitive: true,
    sources: [`os.Getenv / os.LookupEnv in ${config} (overrides of conf/config.yaml, which expands no variables)`],
    settings: settingsOf(goGetenvReads(read(tree, config), config), true),
  };
}

/** Facts of every image, from the given trees. Warns (via `warn`) when Dify's compose pins other releases. */
export function buildFacts(
  trees: SourceTrees,
  warn: (message: string) => void = () => undefined,
): Record<DifyImageId, ImageFacts> {
  const compose = read(trees.dify, 'docker/docker-compose.yaml');
  const difyVersion = composeTag(compose, 'langgenius/dify-api');
  const webVersion = composeTag(compose, 'langgenius/dify-web');
  if (webVersion !== difyVersion) throw new Error(`compose pins dify-api ${difyVersion} but dify-web ${webVersion}`);
  const pluginDaemonVersion = versionOf(trees.pluginDaemon, trees.pluginDaemonVersion, 'plugin daemon');
  const sandboxVersion = versionOf(trees.sandbox, trees.sandboxVersion, 'sandbox');
  const composeDaemon = composeTag(compose, 'langgenius/dify-plugin-daemon');
  if (composeDaemon !== pluginDaemonVersion && !composeDaemon.startsWith(`${pluginDaemonVersion}-`)) {
    warn(
      `Dify ${difyVersion}'s compose pins the plugin daemon at ${composeDaemon}, the tree is ${pluginDaemonVersion}`,
    );
  }
  const composeSandbox = composeTag(compose, 'langgenius/dify-sandbox');
  if (composeSandbox !== sandboxVersion) {
    warn(`Dify ${difyVersion}'s compose pins the sandbox at ${composeSandbox}, the tree is ${sandboxVersion}`);
  }
  return {
    'dify-api': difyApiFacts(trees.dify, difyVersion),
    'dify-web': difyWebFacts(trees.dify, difyVersion),
    'plugin-daemon': pluginDaemonFacts(trees.pluginDaemon, pluginDaemonVersion),
    sandbox: sandboxFacts(trees.sandbox, sandboxVersion),
  };
}
