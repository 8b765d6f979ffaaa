// `tetra data build`: the corpus pipeline.
//
//   extract per source -> normalise -> exact dedup -> near dedup -> split by document hash
//     -> tokenise -> shards of at most shardMaxTokens -> manifest.json
//
// Stage 1 (extract + normalise) writes work/<source>.jsonl and then work/<source>.stats.json;
// a source whose stats file exists is not extracted again, so an interrupted build resumes at
// the first unfinished source. Stage 2 (dedup, split, tokenise, shard) is one deterministic
// pass over those files in source order; it rewrites all shards, and manifest.json is written
// last, so a directory with a manifest is complete.
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  createWriteStream,
} from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ExactDeduper, NearDeduper, NEAR_DUP_THRESHOLD, NUM_HASHES, BANDS, ROWS, SHINGLE_WORDS } from './dedup.ts';
import type { TextEncoder } from './encoder.ts';
import { gunzipIfNeeded } from './formats.ts';
import { sha256Hex } from './hash.ts';
import { MANIFEST_VERSION, writeManifest, type Manifest, type SourceStats } from './manifest.ts';
import { normalizeText } from './normalize.ts';
import { Progress } from '../util/index.ts';
import { ShardWriter } from './shard.ts';
import { splitOf } from './split.ts';
import type { TextSource } from './sources.ts';

export class MissingSourceError extends Error {}

export interface BuildOptions {
  name: string;
  out: string;
  sources: TextSource[];
  /** Source names to leave out (a missing source is an error unless excluded). */
  exclude?: string[];
  root?: string;
  encoder: TextEncoder;
  valFraction?: number;
  shardMaxTokens?: number;
  /** Documents shorter than this many characters after normalisation are dropped (counted). */
  minChars?: number;
  log?: NodeJS.WriteStream | null;
}

type ExtractStats = Pick<SourceStats, 'name' | 'files' | 'rawBytes' | 'documents' | 'textBytes'> & { tooShort: number };

export const NORMALISATION =
  'markup stripped per source; Unicode NFC; CRLF/CR -> LF; C0/C1 controls except TAB/LF removed; trailing whitespace removed; 3+ ' +
  'newlines -> 2; outer blank lines trimmed';

export async function buildCorpus(o: BuildOptions): Promise<Manifest> {
  const root = o.root ?? '/';
  const valFraction = o.valFraction ?? 0.01;
  const shardMaxTokens = o.shardMaxTokens ?? 1 << 26;
  const minChars = o.minChars ?? 16;
  const log = o.log === undefined ? process.stderr : o.log;
  const excluded = new Set(o.exclude ?? []);
  for (const x of excluded)
    if (!o.sources.some((s) => s.name === x))
      throw new MissingSourceError(`--exclude: unknown source '${x}' (sources: ${o.sources.map((s) => s.name).join(', ')})`);
  const chosen = o.sources.filter((s) => !excluded.has(s.name));

  // All missing sources are reported together before any work starts.
  const units = new Map<string, string[][]>();
  const missing: string[] = [];
  for (const s of chosen) {
    const u = s.units(root);
    if (!u.length) missing.push(`${s.name} (package ${s.package}: ${s.install})`);
    units.set(s.name, u);
  }
  if (missing.length)
    throw new MissingSourceError(
      `missing corpus sources: ${missing.join('; ')}. Install them (scripts/install-corpus-sources.sh) or leave them out with ` +
        `--exclude ${missing.map((m) => m.split(' ')[0]).join(',')}`,
    );

  const work = join(o.out, 'work');
  mkdirSync(work, { recursive: true });
  const extractStats = new Map<string, ExtractStats>();
  for (const s of chosen) extractStats.set(s.name, await extractSource(s, units.get(s.name)!, work, minChars, log));

  // ---- stage 2: dedup, split, tokenise, shard
  rmSync(join(o.out, 'manifest.json'), { force: true });
  for (const f of readdirSync(o.out)) if (/^(train|val)_\d+\.bin(\.tmp)?$/.test(f)) rmSync(join(o.out, f));
  const enc = o.encoder;
  const writers = {
    train: new ShardWriter(o.out, 'train', enc.vocabSize, enc.eotId, shardMaxTokens),
    val: new ShardWriter(o.out, 'val', enc.vocabSize, enc.eotId, shardMaxTokens),
  };
  const exact = new ExactDeduper();
  const near = new NearDeduper();
  const docs = { train: 0, val: 0 };
  const sources: SourceStats[] = [];
  const totalDocs = [...extractStats.values()].reduce((a, s) => a + s.documents, 0);
  // progress in bytes: documents range from 20-byte fortunes to 2 MB manuals, so a document
  // count gives a useless ETA
  const prog = new Progress(
    'dedup+tokenise',
    [...extractStats.values()].reduce((a, s) => a + s.textBytes, 0),
    'bytes',
    log,
  );
  let seen = 0;
  for (const s of chosen) {
    const es = extractStats.get(s.name)!;
    const st: SourceStats = {
      name: s.name,
      package: s.package,
      licence: s.licence,
      description: s.description,
      files: es.files,
      rawBytes: es.rawBytes,
      documents: es.documents,
      textBytes: es.textBytes,
      keptDocuments: 0,
      keptBytes: 0,
      exactDuplicates: 0,
      nearDuplicates: 0,
      tokens: { train: 0, val: 0 },
    };
    const rl = createInterface({ input: createReadStream(join(work, `${s.name}.jsonl`), 'utf8'), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line) continue;
      const { text } = JSON.parse(line) as { id: string; text: string };
      seen += Buffer.byteLength(text, 'utf8');
      const hash = sha256Hex(text);
      if (!exact.add(text)) {
        st.exactDuplicates++;
        prog.update(seen);
        continue;
      }
      if (!near.add(text)) {
        st.nearDuplicates++;
        prog.update(seen);
        continue;
      }
      const split = splitOf(hash, valFraction);
      const ids = enc.encode(text);
      writers[split].writeDocument(ids);
      st.tokens[split] += ids.length + 1;
      st.keptDocuments++;
      st.keptBytes += Buffer.byteLength(text, 'utf8');
      docs[split]++;
      prog.update(seen, `${s.name}`);
    }
    sources.push(st);
  }
  const train = writers.train.close();
  const val = writers.val.close();
  prog.done(`${docs.train + docs.val} documents kept of ${totalDocs}`);

  const m: Manifest = {
    version: MANIFEST_VERSION,
    name: o.name,
    createdAt: new Date().toISOString(),
    tokenizer: { name: enc.name, vocabSize: enc.vocabSize, eotId: enc.eotId },
    normalisation: NORMALISATION,
    dedup: {
      exact: 'sha256 of the normalised text; first occurrence kept (sources in manifest order)',
      near:
        `MinHash (${NUM_HASHES} hashes) over lowercase word ${SHINGLE_WORDS}-gram shingles, LSH ${BANDS} bands x ${ROWS} rows, ` +
        `duplicate when estimated Jaccard >= ${NEAR_DUP_THRESHOLD} with an earlier kept document`,
    },
    split: { valFraction, rule: 'val when sha256("split:" + sha256(text)) / 2^32 (first 32 bits) < valFraction' },
    shardMaxTokens,
    sources,
    excludedSources: o.sources
      .filter((s) => excluded.has(s.name))
      .map((s) => ({ name: s.name, package: s.package, reason: 'excluded with --exclude' })),
    splits: {
      train: { documents: docs.train, tokens: train.reduce((a, x) => a + x.tokens, 0), shards: train },
      val: { documents: docs.val, tokens: val.reduce((a, x) => a + x.tokens, 0), shards: val },
    },
  };
  writeManifest(o.out, m);
  return m;
}

// ---- stage 1: extract + normalise one source (skipped when already done)

async function extractSource(
  s: TextSource,
  units: string[][],
  work: string,
  minChars: number,
  log: NodeJS.WriteStream | null,
): Promise<ExtractStats> {
  const statsFile = join(work, `${s.name}.stats.json`);
  const fingerprint = sha256Hex(JSON.stringify(units));
  if (existsSync(statsFile)) {
    const prev = JSON.parse(readFileSync(statsFile, 'utf8')) as ExtractStats & { fingerprint: string; minChars: number };
    if (prev.fingerprint === fingerprint && prev.minChars === minChars && existsSync(join(work, `${s.name}.jsonl`))) {
      log?.write(`extract ${s.name}: already done (${prev.documents} documents), skipped\n`);
      return prev;
    }
  }
  const tmp = join(work, `${s.name}.jsonl.tmp`);
  const out = createWriteStream(tmp, 'utf8');
  const st: ExtractStats = { name: s.name, files: 0, rawBytes: 0, documents: 0, textBytes: 0, tooShort: 0 };
  const prog = new Progress(`extract ${s.name}`, units.length, 'files', log);
  for (const unit of units) {
    let data: Buffer[];
    try {
      data = s.synthetic ? [] : unit.map((f) => gunzipIfNeeded(f, readFileSync(f)));
    } catch (e) {
      throw new Error(`${unit[0]}: cannot read (${(e as Error).message}) in source ${s.name} (package ${s.package})`);
    }
    st.files += unit.length;
    for (const d of data) st.rawBytes += d.length;
    for (const doc of s.extract(unit, data)) {
      const text = normalizeText(doc.text);
      if (text.length < minChars) {
        st.tooShort++;
        continue;
      }
      st.documents++;
      st.textBytes += Buffer.byteLength(text, 'utf8');
      if (!out.write(JSON.stringify({ id: doc.id, text }) + '\n')) await once(out, 'drain');
    }
    prog.update(st.files);
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, join(work, `${s.name}.jsonl`));
  writeFileSync(statsFile, JSON.stringify({ ...st, fingerprint, minChars }) + '\n');
  prog.done(`${st.documents} documents, ${(st.textBytes / 1e6).toFixed(1)} MB text (${st.tooShort} under ${minChars} chars dropped)`);
  return st;
}
