// Model releases on disk: a folder holding a weights-only checkpoint and release.json, which
// names its pinned snapshot (`tetra export release` writes one; `npm run speedrun` ships one under
// the repository's models/). Which releases a models folder holds, and the newest of them.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's models/ folder (beside src/): the releases `tetra start` serves. */
export const SHIPPED_MODELS = join(import.meta.dirname, '..', '..', '..', 'models');

/** The releases under a models folder (directories with release.json), oldest first by name (its date sorts). */
export function releases(models: string): string[] {
  if (!existsSync(models)) return [];
  return readdirSync(models, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(models, d.name, 'release.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => join(models, name));
}

/** The newest release under a models folder, or null. */
export function newestRelease(models: string): string | null {
  return releases(models).at(-1) ?? null;
}
