// Model releases on disk: a folder holding a weights-only checkpoint and release.json, which
// names its pinned snapshot and, optionally, the moving alias of its family (`tetra export release`
// writes one; `npm run speedrun` ships one under the repository's models/). Which releases a
// models folder holds, what each one's release.json says, and the newest of a family.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's models/ folder (beside src/): the releases `tetra start` serves. */
export const SHIPPED_MODELS = join(import.meta.dirname, '..', '..', '..', 'models');

/** The alias a release follows when release.json names none: the default model's. */
export const DEFAULT_ALIAS = 'tetra';

/** Pinned snapshot and alias names: a family, a version and a date, as gpt-4-0613 or tetra-1-2026-12-05. */
export const MODEL_NAME = /^[a-z][a-z0-9.-]{0,62}$/;

/** Whether `alias` can name a release's family: a model name, and not the release's own snapshot. */
export const validAlias = (alias: unknown, snapshot: string): alias is string =>
  typeof alias === 'string' && MODEL_NAME.test(alias) && alias !== snapshot;

export interface ReleaseInfo {
  /** The pinned name it is served as, e.g. tetra-1-2026-12-05. */
  snapshot: string;
  /** The moving alias that names the newest release of its family, e.g. tetra or tetra-vision. */
  alias: string;
}

/** What a release directory's release.json says, or null when it has none. */
export function readRelease(dir: string): ReleaseInfo | null {
  const file = join(dir, 'release.json');
  if (!existsSync(file)) return null;
  const r = JSON.parse(readFileSync(file, 'utf8')) as { snapshot?: unknown; alias?: unknown };
  if (typeof r.snapshot !== 'string' || !MODEL_NAME.test(r.snapshot))
    throw new Error(`${file}: "snapshot" must name the model (lowercase letters, digits, '.' and '-'; e.g. tetra-1-2026-12-05)`);
  if (r.alias !== undefined && !validAlias(r.alias, r.snapshot))
    throw new Error(`${file}: "alias" must be a model name other than the snapshot (e.g. tetra-vision), got ${JSON.stringify(r.alias)}`);
  return { snapshot: r.snapshot, alias: (r.alias as string | undefined) ?? DEFAULT_ALIAS };
}

/** The releases under a models folder (directories with release.json), oldest first by name (its date sorts). */
export function releases(models: string): string[] {
  if (!existsSync(models)) return [];
  return readdirSync(models, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(models, d.name, 'release.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => join(models, name));
}

/** The newest release of a family (by its alias; the default model's unless named) under a models folder, or null. */
export function newestRelease(models: string, alias = DEFAULT_ALIAS): string | null {
  const family = releases(models).filter((dir) => readRelease(dir)?.alias === alias);
  return family.at(-1) ?? null;
}
