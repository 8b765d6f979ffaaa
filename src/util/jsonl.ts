// JSON Lines files that tetra appends to (ladder results, capability records): every line one
// JSON value, blank lines ignored, a missing file empty, and a line that is not JSON an error
// naming the file and line.
import { existsSync, readFileSync } from 'node:fs';

export class JsonlError extends Error {}

export function readJsonl<T>(path: string, what = 'a JSON line'): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((l, i) => {
      if (!l.trim()) return [];
      try {
        return [JSON.parse(l) as T];
      } catch {
        throw new JsonlError(`${path}:${i + 1}: not ${what}`);
      }
    });
}
