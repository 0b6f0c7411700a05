/**
 * Writes lib/dify-settings/<image>.json: the environment variable names each pinned upstream image reads, read
 * from upstream source trees. Run on every upgrade of Dify, the plugin daemon or the sandbox:
 *
 *   npx tsx scripts/dify-settings/generate.ts --dify <dify tree> --plugin-daemon <tree> --sandbox <tree>
 *
 * Only names and file paths are written (facts), never upstream code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as prettier from 'prettier';
import { DIFY_IMAGE_IDS, ImageFacts, factsFile } from '../../lib/dify-settings/facts';
import { SourceTrees, buildFacts } from './facts-from-sources';

const USAGE = `usage: tsx scripts/dify-settings/generate.ts --dify <tree> --plugin-daemon <tree> --sandbox <tree>
       [--plugin-daemon-version <x.y.z>] [--sandbox-version <x.y.z>] [--out <directory>]
Each tree is a checkout of the pinned release (langgenius/dify, dify-plugin-daemon, dify-sandbox);
--out defaults to lib/dify-settings/.`;

function parseArguments(argv: readonly string[]): { trees: SourceTrees; out: string | undefined } {
  const flags = new Map<string, string>();
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const known = ['--dify', '--plugin-daemon', '--sandbox', '--plugin-daemon-version', '--sandbox-version', '--out'];
    if (!known.includes(flag) || value === undefined) throw new Error(`unexpected argument ${flag}\n${USAGE}`);
    flags.set(flag, value);
  }
  const required = (flag: string): string => {
    const value = flags.get(flag);
    if (value === undefined) throw new Error(`${flag} is required\n${USAGE}`);
    return value;
  };
  return {
    trees: {
      dify: required('--dify'),
      pluginDaemon: required('--plugin-daemon'),
      sandbox: required('--sandbox'),
      pluginDaemonVersion: flags.get('--plugin-daemon-version'),
      sandboxVersion: flags.get('--sandbox-version'),
    },
    out: flags.get('--out'),
  };
}

/** The facts as JSON formatted the way the repository's prettier configuration formats it, so both agree. */
async function renderFacts(facts: ImageFacts, file: string): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(JSON.stringify(facts), { ...options, filepath: file });
}

async function main(): Promise<void> {
  const { trees, out } = parseArguments(process.argv.slice(2));
  const facts = buildFacts(trees, (message) => console.warn(`warning: ${message}`));
  if (out !== undefined) fs.mkdirSync(out, { recursive: true });
  for (const id of DIFY_IMAGE_IDS) {
    const file = factsFile(id, out);
    fs.writeFileSync(file, await renderFacts(facts[id], file));
    console.log(
      `${path.relative(process.cwd(), file)}: ${facts[id].image}:${facts[id].version}, ${facts[id].settings.length} names`,
    );
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
