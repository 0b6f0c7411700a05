import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DifyApp, buildApp } from '../../lib/app';
import { CONFIG_CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY } from '../../lib/config';
import { OFFLINE_LLRT_CONTEXT_KEY } from '../../lib/llrt-binary';

const ROOT = path.join(__dirname, '..', '..');

/** Jest does not read cdk.json: the same feature flags are passed explicitly, as the CLI would. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface SynthesizedDifyApp extends DifyApp {
  readonly app: App;
  readonly edgeTemplate: Template;
  readonly regionalTemplate: Template;
}

/**
 * Builds the real app with configuration overrides (as `-c difyEdge='{...}'` would) and a config file that does
 * not exist in the repo, so a developer's own dify-edge.config.json never changes test results.
 */
export function synthDifyApp(overrides: Record<string, unknown> = {}): SynthesizedDifyApp {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-test-'));
  const app = new App({
    outdir,
    context: {
      ...cdkJsonContext(),
      [CONFIG_FILE_CONTEXT_KEY]: 'test/support/test.config.json',
      [CONFIG_CONTEXT_KEY]: overrides,
      // No internet here or in CI: LLRT functions get the placeholder binary instead of a GitHub download.
      [OFFLINE_LLRT_CONTEXT_KEY]: true,
    },
  });
  const built = buildApp(app);
  return {
    ...built,
    app,
    edgeTemplate: Template.fromStack(built.edge),
    regionalTemplate: Template.fromStack(built.regional),
  };
}
