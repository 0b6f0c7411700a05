import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Which environment variable names each pinned upstream image reads, as committed JSON next to this file. The
 * JSON is generated from upstream sources by scripts/dify-settings/generate.ts; test/dify/settings-read.test.ts
 * checks every container setting of the synthesized app against it.
 */

export const DIFY_IMAGE_IDS = ['dify-api', 'dify-web', 'plugin-daemon', 'sandbox'] as const;
export type DifyImageId = (typeof DIFY_IMAGE_IDS)[number];

export interface SettingFact {
  readonly name: string;
  /** Upstream files (relative to the source tree) that read the name. */
  readonly readIn: readonly string[];
}

export interface ImageFacts {
  /** Image repository on Docker Hub, e.g. `langgenius/dify-api`. */
  readonly image: string;
  /** Upstream release; the image tag is this or starts with it and a dash (the plugin daemon's `0.5.3-local`). */
  readonly version: string;
  /** Whether names must match exactly; pydantic-settings matches case-insensitively by default. */
  readonly caseSensitive: boolean;
  /** What the list was read from, in words. */
  readonly sources: readonly string[];
  /** Sorted by name. */
  readonly settings: readonly SettingFact[];
}

export const FACTS_DIRECTORY = __dirname;

export function factsFile(id: DifyImageId, directory: string = FACTS_DIRECTORY): string {
  return path.join(directory, `${id}.json`);
}

/** The committed facts of every image. */
export function readCommittedFacts(directory: string = FACTS_DIRECTORY): Record<DifyImageId, ImageFacts> {
  return Object.fromEntries(
    DIFY_IMAGE_IDS.map((id) => [id, JSON.parse(fs.readFileSync(factsFile(id, directory), 'utf8')) as ImageFacts]),
  ) as Record<DifyImageId, ImageFacts>;
}
