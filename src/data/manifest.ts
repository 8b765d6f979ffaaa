// manifest.json: what a corpus directory holds. Sources with their package, licence, bytes and
// tokens; every shard with its size and sha256. A loader trusts nothing the manifest does not
// name, and a named file that is missing or differs is an error naming it.
import { existsSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileSha256, readShardHeader, type ShardInfo } from './shard.ts';

export const MANIFEST_VERSION = 1;

export interface SourceStats {
  name: string;
  package: string; // the Debian or npm package that provides it
  licence: string;
  description: string;
  files: number;
  rawBytes: number; // bytes read from the installed files (after decompression)
  documents: number; // documents extracted
  textBytes: number; // UTF-8 bytes of normalised text extracted
  keptDocuments: number; // after exact and near dedup
  keptBytes: number;
  exactDuplicates: number;
  nearDuplicates: number;
  tokens: { train: number; val: number };
}

export interface Manifest {
  version: number;
  name: string;
  createdAt: string;
  tokenizer: { name: string; vocabSize: number; eotId: number };
  normalisation: string;
  dedup: { exact: string; near: string };
  split: { valFraction: number; rule: string };
  shardMaxTokens: number;
  sources: SourceStats[];
  excludedSources: { name: string; package: string; reason: string }[];
  splits: {
    train: { documents: number; tokens: number; shards: ShardInfo[] };
    val: { documents: number; tokens: number; shards: ShardInfo[] };
  };
}

export class ManifestError extends Error {}

export function writeManifest(dir: string, m: Manifest): void {
  const p = join(dir, 'manifest.json');
  writeFileSync(`${p}.tmp`, JSON.stringify(m, null, 2) + '\n');
  renameSync(`${p}.tmp`, p);
}

/**
 * Reads `dir/manifest.json` and checks that every shard it names exists with the recorded size
 * and a valid header whose token count matches; with verify, also the whole-file sha256.
 */
export function readManifest(dir: string, opts: { verify?: boolean } = {}): Manifest {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) throw new ManifestError(`${p}: no manifest (build the corpus with \`tetra data build --out ${dir}\`)`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(p, 'utf8')) as Manifest;
  } catch (e) {
    throw new ManifestError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  if (m.version !== MANIFEST_VERSION) throw new ManifestError(`${p}: manifest version ${m.version}, expected ${MANIFEST_VERSION}`);
  for (const split of ['train', 'val'] as const) {
    const shards = m.splits?.[split]?.shards;
    if (!Array.isArray(shards)) throw new ManifestError(`${p}: splits.${split}.shards is missing`);
    for (const s of shards) {
      const f = join(dir, s.file);
      if (!existsSync(f)) throw new ManifestError(`${f}: shard named in ${p} is missing`);
      const size = statSync(f).size;
      if (size !== s.bytes) throw new ManifestError(`${f}: size ${size} bytes, manifest says ${s.bytes}`);
      const h = readShardHeader(f);
      if (h.tokenCount !== s.tokens) throw new ManifestError(`${f}: header has ${h.tokenCount} tokens, manifest says ${s.tokens}`);
      if (h.vocabSize !== m.tokenizer.vocabSize)
        throw new ManifestError(`${f}: vocabSize ${h.vocabSize}, manifest's tokenizer has ${m.tokenizer.vocabSize}`);
      if (opts.verify) {
        const sum = fileSha256(f);
        if (sum !== s.sha256)
          throw new ManifestError(`${f}: sha256 ${sum.slice(0, 16)}... differs from the manifest's ${s.sha256.slice(0, 16)}...`);
      }
    }
  }
  return m;
}
