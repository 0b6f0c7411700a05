import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIFY_IMAGE_IDS, DifyImageId, ImageFacts, readCommittedFacts } from '../../lib/dify-settings/facts';
import { NON_DIFY_READERS } from '../../lib/dify-settings/non-dify-readers';
import { READ_BY_RUNTIME } from '../../lib/dify-settings/read-by-runtime';
import { buildFacts } from '../../scripts/dify-settings/facts-from-sources';
import { EVERYTHING_ON } from '../stacks/configurations';
import {
  CfnTemplate,
  containersOf,
  isRecord,
  lambdaEnvironment,
  propsOf,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
} from '../stacks/template-helpers';
import { REFERENCE_ROOT } from '../support/reference';
import { DockerImageAssetSource, dockerImageAssets, sourceImageOf } from '../stacks/image-assets';

const ROOT = path.join(__dirname, '..', '..');
// The upstream reference checkout some developers keep next to the repository (test/support/reference.ts). Users'
// clones do not have it: then only the committed facts are used and the comparison with the sources is skipped.
const REFERENCE = REFERENCE_ROOT;

const committed = readCommittedFacts();

describe('committed facts about the pinned images', () => {
  const haveReference = fs.existsSync(REFERENCE);
  const check = haveReference ? test : test.skip;
  check(
    haveReference
      ? 'equal the facts regenerated from the upstream sources (if not: npm run dify-settings)'
      : `equal the facts regenerated from the upstream sources: SKIPPED, no reference checkout at ${REFERENCE}`,
    () => {
      const regenerated = buildFacts({
        dify: path.join(REFERENCE, `dify-${committed['dify-api'].version}`),
        pluginDaemon: path.join(REFERENCE, `dify-plugin-daemon-${committed['plugin-daemon'].version}`),
        sandbox: path.join(REFERENCE, `dify-sandbox-${committed.sandbox.version}`),
      });
      for (const id of DIFY_IMAGE_IDS) expect({ id, facts: committed[id] }).toEqual({ id, facts: regenerated[id] });
    },
  );

  test('list settings sorted, each once, each with the files that read it', () => {
    for (const id of DIFY_IMAGE_IDS) {
      const names = committed[id].settings.map((setting) => setting.name);
      expect(names).toEqual([...new Set(names)].sort());
      for (const setting of committed[id].settings) expect(setting.readIn.length).toBeGreaterThan(0);
    }
  });
});

/** A Dify container of the synthesized app and the environment variable names it starts with. */
interface DifyContainer {
  /** Names the container in failure messages, e.g. `ECS container worker (BackendTaskDefinition35F63C58)`. */
  readonly label: string;
  /** Container name (ECS) or `api` / `web` (Lambda). */
  readonly name: string;
  readonly image: DifyImageId;
  readonly tag: string;
  readonly lambda: boolean;
  readonly variables: readonly string[];
}

const TOKEN = '<token>';

/** A CloudFormation string value with every intrinsic function that yields an unknown string replaced by TOKEN. */
function renderTokens(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isRecord(value) && Array.isArray(value['Fn::Join'])) {
    const [separator, parts] = value['Fn::Join'] as [string, unknown[]];
    return parts.map(renderTokens).join(separator);
  }
  if (isRecord(value) && 'Fn::Sub' in value) {
    const sub = value['Fn::Sub'];
    const template = Array.isArray(sub) ? sub[0] : sub;
    if (typeof template !== 'string') throw new Error(`unexpected Fn::Sub ${JSON.stringify(value)}`);
    return template.replace(/\$\{[^}]*\}/g, TOKEN);
  }
  if (isRecord(value)) return TOKEN; // Ref, Fn::GetAtt, Fn::ImportValue: a value, never a key
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

/**
 * Keys of a JSON object held in an environment variable (the api function's DIFY_EDGE_SECRETS and
 * DIFY_EDGE_TEMPLATES, which the secrets loader turns into variables at start). Keys must be literal strings.
 */
function jsonKeys(value: unknown, where: string): string[] {
  const text = renderTokens(value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not a JSON object with literal keys (${String(error)}): ${text}`);
  }
  if (!isRecord(parsed)) throw new Error(`${where} is not a JSON object: ${text}`);
  const keys = Object.keys(parsed);
  const computed = keys.filter((key) => key.includes(TOKEN));
  if (computed.length > 0) throw new Error(`${where} has keys that are not literal strings: ${computed.join(', ')}`);
  return keys;
}

/** Variables of the api function that the secrets loader expands into more variables (JSON maps of them). */
const JSON_MAP_VARIABLES = ['DIFY_EDGE_SECRETS', 'DIFY_EDGE_TEMPLATES'];

function imageOf(repository: string): DifyImageId | undefined {
  return DIFY_IMAGE_IDS.find(
    (id) => repository === committed[id].image || repository.endsWith(`/${committed[id].image}`),
  );
}

/** The public image a container runs (see test/stacks/image-assets.ts). */
function sourceImage(image: unknown, assets: Map<string, DockerImageAssetSource>, label: string): string {
  return sourceImageOf(image, assets, label);
}

function difyContainers(template: CfnTemplate, assets: Map<string, DockerImageAssetSource>): DifyContainer[] {
  const found: DifyContainer[] = [];
  for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    if (propsOf(fn).PackageType !== 'Image') continue; // zip functions are ours (custom resources, keep-warm)
    const description = String(propsOf(fn).Description ?? '');
    const match = /^Dify (api|web) (\S+)/.exec(description);
    if (!match) throw new Error(`image function ${id} runs an image this test does not know: "${description}"`);
    const environment = lambdaEnvironment(fn);
    const variables = Object.keys(environment);
    for (const name of JSON_MAP_VARIABLES) {
      if (name in environment) variables.push(...jsonKeys(environment[name], `${id} ${name}`));
    }
    found.push({
      label: `Lambda function ${match[1]} (${id})`,
      name: match[1],
      image: match[1] === 'api' ? 'dify-api' : 'dify-web',
      tag: match[2],
      lambda: true,
      variables,
    });
  }
  for (const [id, taskDefinition] of resourcesOfType(template, 'AWS::ECS::TaskDefinition')) {
    for (const definition of containersOf(taskDefinition)) {
      const label = `ECS container ${definition.Name} (${id})`;
      const source = sourceImage(definition.Image, assets, label);
      const separator = source.lastIndexOf(':');
      const image = imageOf(source.slice(0, separator));
      if (image === undefined) throw new Error(`${label} runs ${source}, which has no committed facts`);
      found.push({
        label,
        name: definition.Name,
        image,
        tag: source.slice(separator + 1),
        lambda: false,
        variables: [
          ...(definition.Environment ?? []).map((entry) => entry.Name),
          ...(definition.Secrets ?? []).map((entry) => entry.Name),
        ],
      });
    }
  }
  return found;
}

const CONFIGURATIONS: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['lambda (default)', {}],
  ['alb', { hosting: 'alb' }],
  ['everything on', EVERYTHING_ON],
  ['everything on, alb', { ...EVERYTHING_ON, hosting: 'alb' }],
  ['api SnapStart', { api: { snapStart: true } }],
];

function factsNames(facts: ImageFacts): Set<string> {
  return new Set(facts.settings.map((s) => (facts.caseSensitive ? s.name : s.name.toUpperCase())));
}
const FACTS_NAMES = Object.fromEntries(DIFY_IMAGE_IDS.map((id) => [id, factsNames(committed[id])])) as Record<
  DifyImageId,
  Set<string>
>;

function inFacts(container: DifyContainer, variable: string): boolean {
  return FACTS_NAMES[container.image].has(committed[container.image].caseSensitive ? variable : variable.toUpperCase());
}

function runtimeReader(container: DifyContainer, variable: string): number {
  return READ_BY_RUNTIME.findIndex((entry) => entry.image === container.image && entry.name === variable);
}

function nonDifyReader(container: DifyContainer, variable: string): number {
  return NON_DIFY_READERS.findIndex(
    (entry) =>
      entry.name === variable && entry.images.includes(container.image) && (!entry.lambdaOnly || container.lambda),
  );
}

/** Why a container's variable is dead, or undefined when something in its image reads it. */
function deadSetting(configuration: string, container: DifyContainer, variable: string): string | undefined {
  if (inFacts(container, variable) || runtimeReader(container, variable) >= 0) return undefined;
  if (nonDifyReader(container, variable) >= 0) return undefined;
  const facts = committed[container.image];
  return (
    `${configuration}: ${container.label} sets ${variable}, which ${facts.image}:${container.tag} does not read ` +
    `(not in lib/dify-settings/${container.image}.json, read-by-runtime.ts or non-dify-readers.ts)`
  );
}

describe('every setting of every Dify container is read by its image', () => {
  const containers = new Map<string, DifyContainer[]>();

  beforeAll(() => {
    try {
      for (const [name, overrides] of CONFIGURATIONS) {
        const { synthesized, regional, edge } = synthTemplates(overrides);
        const assets = dockerImageAssets(synthesized.app.outdir);
        containers.set(name, [...difyContainers(regional, assets), ...difyContainers(edge, assets)]);
      }
    } finally {
      removeSynthOutputs();
    }
  }, 300_000);

  const names = CONFIGURATIONS.map(([name]) => name);

  test.each(names)('%s: finds the api, web and backend containers and their images match the facts', (name) => {
    const found = containers.get(name) ?? [];
    const alb = name.includes('alb');
    const expected = ['worker', 'beat', 'internal-api', 'migration', 'plugin-daemon', 'sandbox', 'api', 'web'];
    expect(found.map((c) => c.name)).toEqual(expect.arrayContaining(expected));
    expect(found.filter((c) => c.name === 'api' || c.name === 'web').every((c) => c.lambda === !alb)).toBe(true);
    const mismatched = found
      .filter((c) => c.tag !== committed[c.image].version && !c.tag.startsWith(`${committed[c.image].version}-`))
      .map((c) => `${c.label} runs ${c.tag}, the facts are for ${committed[c.image].version}`);
    expect(mismatched).toEqual([]);
  });

  test.each(names)('%s: no container sets a variable its image does not read', (name) => {
    const dead = (containers.get(name) ?? []).flatMap((container) =>
      container.variables.flatMap((variable) => deadSetting(name, container, variable) ?? []),
    );
    expect(dead).toEqual([]);
  });

  test('every allow-list entry is needed by some container (keeps the lists tight)', () => {
    const usedRuntime = new Set<number>();
    const usedNonDify = new Set<number>();
    for (const found of containers.values()) {
      for (const container of found) {
        for (const variable of container.variables) {
          if (inFacts(container, variable)) continue;
          usedRuntime.add(runtimeReader(container, variable));
          usedNonDify.add(nonDifyReader(container, variable));
        }
      }
    }
    expect(READ_BY_RUNTIME.filter((_, i) => !usedRuntime.has(i)).map((e) => `${e.image} ${e.name}`)).toEqual([]);
    expect(NON_DIFY_READERS.filter((_, i) => !usedNonDify.has(i)).map((e) => e.name)).toEqual([]);
  });
});

test('a setting that the image does not read is reported with container, variable and image', () => {
  const api: DifyContainer = {
    label: 'ECS container worker (Task)',
    name: 'worker',
    image: 'dify-api',
    tag: committed['dify-api'].version,
    lambda: false,
    variables: [],
  };
  // Not a setting of Dify 1.13.3: no field, entrypoint or direct read has this name.
  expect(deadSetting('test', api, 'ENABLE_COLLABORATION_MODE')).toMatch(
    /ECS container worker \(Task\) sets ENABLE_COLLABORATION_MODE, which langgenius\/dify-api:\S+ does not read/,
  );
  expect(deadSetting('test', api, 'upload_file_size_limit')).toBeUndefined(); // pydantic-settings ignores case
  expect(deadSetting('test', api, 'AWS_LWA_PORT')).toBeDefined(); // the adapter runs only in the Lambda images
  expect(deadSetting('test', { ...api, lambda: true }, 'AWS_LWA_PORT')).toBeUndefined();
});

describe('allow-list entries', () => {
  test('a reader file of this repository really mentions the name', () => {
    for (const entry of NON_DIFY_READERS.filter((e) => e.readerFile !== undefined)) {
      const text = fs.readFileSync(path.join(ROOT, entry.readerFile as string), 'utf8');
      expect({ name: entry.name, mentioned: text.includes(entry.name) }).toEqual({ name: entry.name, mentioned: true });
    }
  });

  test('say what reads the name and where to check it', () => {
    for (const entry of [...NON_DIFY_READERS, ...READ_BY_RUNTIME]) {
      expect(entry.reader.trim()).not.toBe('');
      expect(entry.source.trim()).not.toBe('');
    }
  });
});

describe('jsonKeys', () => {
  test('reads literal keys around tokens and refuses computed keys', () => {
    const map = { 'Fn::Join': ['', ['{"A":"', { Ref: 'X' }, '#f","B_2":"', { 'Fn::GetAtt': ['Y', 'Z'] }, '"}']] };
    expect(jsonKeys(map, 'map')).toEqual(['A', 'B_2']);
    expect(jsonKeys({ 'Fn::Sub': '{"C":"${Token}"}' }, 'sub')).toEqual(['C']);
    expect(() => jsonKeys({ 'Fn::Join': ['', ['{"', { Ref: 'K' }, '":"v"}']] }, 'computed')).toThrow(/not literal/);
    expect(() => jsonKeys('not json', 'text')).toThrow(/not a JSON object/);
  });
});
