// Readers for the on-disk formats of the text sources: dictd databases (.index + .dict.dz)
// and fortune files.
import { gunzipSync } from 'node:zlib';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function dictdNumber(s: string, file: string): number {
  let n = 0;
  for (const c of s) {
    const v = B64.indexOf(c);
    if (v < 0) throw new Error(`${file}: bad base64 number '${s}' in the index`);
    n = n * 64 + v;
  }
  return n;
}

/**
 * Entries of a dictd database. The .dict.dz is gzip (dictzip adds random-access data in a gzip
 * extra field, which gunzip ignores). Several headwords can point at one entry: each entry is
 * returned once. Entries named 00-database-* / 00database* are metadata and are skipped.
 */
export function readDictd(index: string, dict: Buffer, indexFile: string): { headword: string; text: string }[] {
  const seen = new Set<number>();
  const out: { headword: string; text: string }[] = [];
  const lines = index.split('\n');
  for (let n = 0; n < lines.length; n++) {
    if (!lines[n]) continue;
    const [headword, off, len] = lines[n].split('\t');
    if (len === undefined) throw new Error(`${indexFile}:${n + 1}: expected "headword<TAB>offset<TAB>length"`);
    if (/^00-?database/.test(headword)) continue;
    const o = dictdNumber(off, indexFile);
    if (seen.has(o)) continue;
    seen.add(o);
    const l = dictdNumber(len, indexFile);
    if (o + l > dict.length)
      throw new Error(`${indexFile}:${n + 1}: entry '${headword}' runs past the end of the .dict data (${o + l} > ${dict.length})`);
    out.push({ headword, text: dict.toString('utf8', o, o + l) });
  }
  return out;
}

export function gunzipIfNeeded(file: string, data: Buffer): Buffer {
  return file.endsWith('.gz') || file.endsWith('.dz') ? gunzipSync(data) : data;
}

/** Fortune files: entries separated by lines holding a single '%'. */
export function readFortunes(text: string): string[] {
  return text
    .split(/^%\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
