// What `tetra sft`, `tetra dpo` and `tetra rl` share: the flags of a run that starts from a
// checkpoint (output, resume, schedule, checkpoints, replicas), the start checkpoint and its
// tokenizer, and the training settings those flags make.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkpointInfo, configFromDepth, GPT, saveCheckpoint, type CheckpointMeta, type GPTConfig } from '../model/index.ts';
import { openTokenizer, openTokenizerRef, tokenizerRef, type Tokenizer } from '../tokenizer/index.ts';
import { defaultAdamW, defaultReplicas, nominalPeakFlops, type TrainConfig } from '../train/index.ts';
import { numberFlag, UsageError, type FlagSpec, type Flags } from './args.ts';
import { resolveCheckpoint } from './generate.ts';

/**
 * --init LAYERS:WIDTH:HEADS: a model from nothing instead of a pretrained checkpoint, random
 * weights from --seed and the --tokenizer, written once as OUT/base (a checkpoint at step 0) so
 * the run starts, resumes and records its tokenizer as one from a checkpoint does. Returns its path.
 */
export async function initCheckpoint(f: Flags, cmd: string): Promise<string> {
  if (f.checkpoint !== undefined) throw new UsageError(`${cmd}: give --checkpoint or --init, not both`);
  if (!f.out) throw new UsageError(`${cmd}: --out is required`);
  if (f.tokenizer === undefined)
    throw new UsageError(`${cmd}: --init needs --tokenizer (bytes, cl100k or a file from \`tetra tokenizer train\`)`);
  const spec = String(f.init);
  const m = /^(\d+):(\d+):(\d+)$/.exec(spec);
  if (!m) throw new UsageError(`${cmd}: --init wants LAYERS:WIDTH:HEADS, e.g. 4:192:12, got ${JSON.stringify(spec)}`);
  const dir = join(resolve(String(f.out)), 'base');
  let tok: Tokenizer;
  try {
    tok = await openTokenizer(String(f.tokenizer));
  } catch (e) {
    throw new UsageError(`${cmd}: --tokenizer ${f.tokenizer}: ${(e as Error).message}`);
  }
  let config: GPTConfig;
  try {
    config = configFromDepth(Number(m[1]), {
      nEmbd: Number(m[2]),
      nHead: Number(m[3]),
      vocabSize: tok.idLimit,
      contextLength: numberFlag(f, 'context', 1, 1 << 20, cmd),
    });
  } catch (e) {
    throw new UsageError(`${cmd}: --init ${spec}: ${(e as Error).message}`);
  }
  if (existsSync(join(dir, 'checkpoint.json'))) {
    const was = checkpointInfo(dir).config;
    if (JSON.stringify(was) !== JSON.stringify(config))
      throw new UsageError(`${cmd}: ${dir} holds a different model than --init ${spec} makes; give the run's own flags or a new --out`);
    return dir;
  }
  const seed = numberFlag(f, 'seed', 0, 2 ** 31, cmd);
  saveCheckpoint(dir, {
    config,
    params: GPT.init(config, seed).weights(),
    meta: { step: 0, tokensSeen: 0, tokenizer: tokenizerRef(String(f.tokenizer)) },
  });
  return dir;
}

/** The shared flags, with each command's defaults. */
export function fineTuneFlags(d: { steps: number; lr: number; warmup: number; every: number }): Record<string, FlagSpec> {
  return {
    out: { type: 'string', help: 'run directory: checkpoints/, metrics.jsonl' },
    resume: { type: 'boolean', help: "continue from OUT's newest checkpoint" },
    steps: { type: 'number', help: 'optimizer steps', default: d.steps },
    'stop-at': { type: 'number', help: 'stop after this step, checkpoint saved (the schedule still spans --steps; --resume goes on)' },
    lr: { type: 'number', help: 'peak learning rate', default: d.lr },
    warmup: { type: 'number', help: 'warmup steps', default: d.warmup },
    seed: { type: 'number', help: 'data order (and sampling)', default: 1337 },
    'eval-every': { type: 'number', help: 'validation every N steps (0 = off)', default: d.every },
    'checkpoint-every': { type: 'number', help: 'checkpoint every N steps (and at the end)', default: d.every },
    keep: { type: 'number', help: 'checkpoints to keep', default: 2 },
    replicas: { type: 'number', help: 'data-parallel threads (default: the kernel threads)' },
  };
}

/** The start checkpoint (--checkpoint: a checkpoint or a run directory), its metadata and tokenizer; `required` flags checked first. */
export async function openStart(
  f: Flags,
  cmd: string,
  usage: string,
  required: string[],
): Promise<{ checkpoint: string; meta: CheckpointMeta; tok: Tokenizer }> {
  for (const k of ['checkpoint', ...required, 'out']) if (!f[k]) throw new UsageError(`${cmd}: --${k} is required (usage: ${usage})`);
  const checkpoint = resolveCheckpoint(String(f.checkpoint));
  const { meta } = checkpointInfo(checkpoint);
  return { checkpoint, meta, tok: await openTokenizerRef(meta.tokenizer ?? {}) };
}

/** The training settings the shared flags make (linear decay to 0 after warmup, AdamW). */
export function fineTuneSettings(
  f: Flags,
  cmd: string,
  meta: CheckpointMeta,
  weightDecay = 0,
): Pick<
  TrainConfig,
  | 'out'
  | 'accum'
  | 'steps'
  | 'stopAt'
  | 'optimizer'
  | 'schedule'
  | 'seed'
  | 'evalEvery'
  | 'sampleEvery'
  | 'checkpointEvery'
  | 'keepCheckpoints'
  | 'peakFlops'
  | 'tokenizer'
  | 'resume'
  | 'replicas'
> {
  return {
    out: resolve(String(f.out)),
    accum: 1,
    steps: numberFlag(f, 'steps', 1, 1e9, cmd),
    stopAt: f['stop-at'] !== undefined ? numberFlag(f, 'stop-at', 1, 1e9, cmd) : undefined,
    optimizer: { ...defaultAdamW, lr: numberFlag(f, 'lr', 0, 10, cmd, false), weightDecay },
    schedule: { minLr: 0, warmup: numberFlag(f, 'warmup', 0, 1e9, cmd), decay: 'linear' },
    seed: numberFlag(f, 'seed', 0, 2 ** 31, cmd),
    evalEvery: numberFlag(f, 'eval-every', 0, 1e9, cmd),
    sampleEvery: 0,
    checkpointEvery: numberFlag(f, 'checkpoint-every', 0, 1e9, cmd),
    keepCheckpoints: numberFlag(f, 'keep', 1, 1000, cmd),
    peakFlops: nominalPeakFlops(),
    tokenizer: { ...meta.tokenizer, name: meta.tokenizer?.name ?? 'bytes' },
    resume: Boolean(f.resume),
    replicas: f.replicas !== undefined ? numberFlag(f, 'replicas', 1, 1024, cmd) : defaultReplicas(),
  };
}
