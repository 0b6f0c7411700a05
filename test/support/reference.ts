import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Unmodified upstream sources of the pinned Dify versions, when the workspace has them beside this repository.
 * Users' clones do not: tests that read them are skipped there, and the facts they check are committed instead.
 */
export const REFERENCE_ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'reference');
export const DIFY_REFERENCE = path.join(REFERENCE_ROOT, 'dify-1.13.3');
export const hasReference = fs.existsSync(DIFY_REFERENCE);

/** `describe` when the reference exists, `describe.skip` (with the reason in its title) otherwise. */
export const describeWithReference = hasReference ? describe : describe.skip;

export function readReference(relativePath: string): string {
  return fs.readFileSync(path.join(DIFY_REFERENCE, relativePath), 'utf8');
}
