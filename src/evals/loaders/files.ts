// Reading benchmark files: where they live, JSONL (plain or gzipped), and CSV as MMLU writes it.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Where users put the public benchmark files (they cannot be downloaded here):
 * $TETRA_BENCHMARKS, else ~/.tetra/benchmarks. Each benchmark has its folder under it: mmlu/,
 * truthfulqa/, humaneval/, gsm8k/ (see the README, "Benchmarks and sandbox").
 */
export function benchmarksDir(): string {
  return process.env.TETRA_BENCHMARKS || join(homedir(), '.tetra', 'benchmarks');
}

/** Text of a file, gunzipped when it ends in .gz (HumanEval ships as HumanEval.jsonl.gz). */
export function readText(path: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(
      `cannot read benchmark file ${path}: ${(e as Error).message}. Put the public files under ${benchmarksDir()} (see README, ` +
        `"Benchmarks and sandbox")`,
    );
  }
  return (path.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8').replace(/^\uFEFF/, '');
}

/** One JSON object per non-empty line; a bad line is reported with its number. */
export function readJsonl(path: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  readText(path)
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}:${i + 1}: expected a JSON object per line`);
      out.push(v as Record<string, unknown>);
    });
  return out;
}

/** RFC 4180 CSV: quoted fields may hold commas, doubled quotes and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    field = '',
    quoted = false,
    i = 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (ch === ',') {
      endField();
      i++;
    } else if (ch === '\n' || ch === '\r') {
      endRow();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (quoted) throw new Error('CSV ends inside a quoted field (an unmatched ")');
  if (field !== '' || row.length) endRow();
  return rows;
}

/** A string field of a benchmark record, or an error naming the file, record and field. */
export function str(rec: Record<string, unknown>, key: string, where: string): string {
  const v = rec[key];
  if (typeof v !== 'string')
    throw new Error(`${where}: field ${key} must be a string, got ${v === undefined ? 'nothing' : JSON.stringify(v).slice(0, 60)}`);
  return v;
}
