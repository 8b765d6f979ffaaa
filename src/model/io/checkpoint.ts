// Checkpoints: a directory that holds everything needed to resume training or serve a model.
//
//   model.safetensors      weights, keys and shapes exactly paramShapes(config)
//   optimizer.safetensors  AdamW moments, keys m.<name> and v.<name> (absent for weights-only)
//   checkpoint.json        format version, config, tokenizer reference, step, tokens seen, data
//                          position, RNG state, optimizer step and hyperparameters, metrics, and
//                          the sha256 of each tensor file
//
// A save builds the directory under a hidden temp name beside the target and renames it into
// place only when every file is written and fsynced, so a crash at any point leaves the previous
// checkpoint loadable. Training keeps a rotation of step-NNNNNN/ directories with a `latest`
// pointer file (rewritten atomically after the new directory is in place).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { paramShapes, validateConfig, type GPTConfig } from '../config.ts';
import { decodeSafetensors, encodeSafetensors, tempSibling, writeFileAtomic, type TensorIn } from './safetensors.ts';

export const CHECKPOINT_FORMAT = 'tetra-checkpoint';
export const CHECKPOINT_VERSION = 1;
const WEIGHTS_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const SIDECAR_FILE = 'checkpoint.json';

/** Which tokenizer the model was trained with; opaque here, checked by the tokenizer package. */
export interface TokenizerRef {
  name?: string;
  path?: string;
  sha256?: string;
}

export interface OptimizerState {
  /** First and second AdamW moments, keyed by parameter name, same lengths as the params. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /** Optimizer steps taken (bias correction depends on it). */
  step: number;
  hyper: Record<string, number>;
}

export interface CheckpointMeta {
  step: number;
  tokensSeen: number;
  tokenizer?: TokenizerRef;
  /** Where the data loader stands; opaque JSON owned by the loader. */
  dataPosition?: unknown;
  /** Generator state; opaque JSON owned by the trainer. */
  rngState?: unknown;
  metrics?: Record<string, unknown>;
}

export interface Checkpoint {
  config: GPTConfig;
  params: Map<string, Float32Array>;
  optimizer?: OptimizerState;
  meta: CheckpointMeta;
}

interface Sidecar {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  savedAt: string;
  config: GPTConfig;
  tokenizer: TokenizerRef | null;
  step: number;
  tokensSeen: number;
  dataPosition: unknown;
  rngState: unknown;
  weights: { file: string; sha256: string };
  optimizer: { file: string; sha256: string; step: number; hyperparameters: Record<string, number> } | null;
  metrics: Record<string, unknown>;
}

export interface SaveOptions {
  /** Storage type of the weights (default F32; a release ships F16, half the size; loading widens it). */
  weightsDtype?: 'F32' | 'F16';
  /** Called after every file is written to the temp directory, before it is renamed into place. Tests use it to simulate a crash. */
  beforeCommit?: (tempDir: string) => void;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

// ---------------------------------------------------------------------------------------------
// saving

/** Checks that params match the config exactly before anything is written. */
function checkParams(config: GPTConfig, params: Map<string, Float32Array>, what: string): [string, TensorIn][] {
  const shapes = paramShapes(config);
  const out: [string, TensorIn][] = [];
  for (const [name, shape] of shapes) {
    const data = params.get(name);
    if (!data) throw new Error(`saveCheckpoint: ${what} has no tensor "${name}" (config expects ${shapeStr(shape)})`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n)
      throw new Error(`saveCheckpoint: ${what} "${name}" has ${data.length} values, config expects ${shapeStr(shape)} = ${n}`);
    out.push([name, { shape, data }]);
  }
  const known = new Set(shapes.map(([n]) => n));
  for (const name of params.keys())
    if (!known.has(name)) throw new Error(`saveCheckpoint: ${what} has tensor "${name}" that config does not define`);
  return out;
}

function fsyncDir(dir: string): void {
  // Makes the rename itself durable; some filesystems refuse to open a directory: then skip.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

/** Writes a checkpoint directory at dir, replacing any checkpoint already there. */
export function saveCheckpoint(dir: string, ckpt: Checkpoint, opts: SaveOptions = {}): void {
  const { config, params, optimizer, meta } = ckpt;
  validateConfig(config);
  if (!Number.isSafeInteger(meta.step) || meta.step < 0)
    throw new Error(`saveCheckpoint: meta.step must be a non-negative integer, got ${meta.step}`);
  if (!Number.isSafeInteger(meta.tokensSeen) || meta.tokensSeen < 0)
    throw new Error(`saveCheckpoint: meta.tokensSeen must be a non-negative integer, got ${meta.tokensSeen}`);
  const weights = checkParams(config, params, 'params');
  let moments: [string, TensorIn][] | null = null;
  if (optimizer) {
    const m = checkParams(config, optimizer.m, 'optimizer.m'),
      v = checkParams(config, optimizer.v, 'optimizer.v');
    moments = [...m.map(([n, t]): [string, TensorIn] => [`m.${n}`, t]), ...v.map(([n, t]): [string, TensorIn] => [`v.${n}`, t])];
  }

  const target = resolve(dir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tmp = tempSibling(target);
  mkdirSync(tmp);
  try {
    const wBytes = encodeSafetensors(weights, { metadata: { format: CHECKPOINT_FORMAT }, dtype: opts.weightsDtype ?? 'F32' });
    writeFileAtomic(join(tmp, WEIGHTS_FILE), wBytes);
    let optSidecar: Sidecar['optimizer'] = null;
    if (optimizer && moments) {
      const oBytes = encodeSafetensors(moments, { metadata: { format: CHECKPOINT_FORMAT, step: String(optimizer.step) } });
      writeFileAtomic(join(tmp, OPTIMIZER_FILE), oBytes);
      optSidecar = { file: OPTIMIZER_FILE, sha256: sha256(oBytes), step: optimizer.step, hyperparameters: { ...optimizer.hyper } };
    }
    const sidecar: Sidecar = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      savedAt: new Date().toISOString(),
      config: { ...config },
      tokenizer: meta.tokenizer ?? null,
      step: meta.step,
      tokensSeen: meta.tokensSeen,
      dataPosition: meta.dataPosition ?? null,
      rngState: meta.rngState ?? null,
      weights: { file: WEIGHTS_FILE, sha256: sha256(wBytes) },
      optimizer: optSidecar,
      metrics: meta.metrics ?? {},
    };
    writeFileAtomic(join(tmp, SIDECAR_FILE), JSON.stringify(sidecar, null, 2) + '\n');
    fsyncDir(tmp);
    opts.beforeCommit?.(tmp);
    if (existsSync(target)) {
      // No atomic directory swap in Node: move the old one aside, move the new one in, then
      // delete the old. Between the two renames the target is briefly absent (never half-written).
      const old = tempSibling(target, 'old');
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
    fsyncDir(parent);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// loading

export class CheckpointError extends Error {
  constructor(dir: string, what: string) {
    super(`checkpoint ${dir}: ${what}`);
    this.name = 'CheckpointError';
  }
}

function readSidecar(dir: string): Sidecar {
  const path = join(dir, SIDECAR_FILE);
  if (!existsSync(path)) {
    throw new CheckpointError(
      dir,
      existsSync(dir) ? `no ${SIDECAR_FILE} (not a checkpoint, or a save that never finished)` : 'directory does not exist',
    );
  }
  let s: Sidecar;
  try {
    s = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(dir, `${SIDECAR_FILE} is not JSON: ${(e as Error).message}`);
  }
  if (s?.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(dir, `${SIDECAR_FILE} has format ${JSON.stringify(s?.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (s.version !== CHECKPOINT_VERSION)
    throw new CheckpointError(dir, `${SIDECAR_FILE} is format version ${s.version}; this tetra reads version ${CHECKPOINT_VERSION}`);
  try {
    validateConfig(s.config);
  } catch (e) {
    throw new CheckpointError(dir, `${SIDECAR_FILE} has an invalid config: ${(e as Error).message}`);
  }
  return s;
}

function readTensors(dir: string, file: string, expectSha: string | undefined): Map<string, { shape: number[]; data: Float32Array }> {
  const path = join(dir, file);
  if (!existsSync(path)) throw new CheckpointError(dir, `${file} is missing`);
  const bytes = readFileSync(path);
  if (expectSha && sha256(bytes) !== expectSha) {
    // Say what the parser sees too: "header length larger than the file" tells a truncation apart from bit rot.
    let parse = '';
    try {
      decodeSafetensors(bytes, path);
    } catch (e) {
      parse = ` (${(e as Error).message})`;
    }
    throw new CheckpointError(
      dir,
      `${file} does not match the sha256 recorded in ${SIDECAR_FILE}: the file is corrupt or was replaced${parse}`,
    );
  }
  return decodeSafetensors(bytes, path).tensors;
}

function matchShapes(
  dir: string,
  file: string,
  config: GPTConfig,
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  prefix: string,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of paramShapes(config)) {
    const t = tensors.get(prefix + name);
    if (!t) throw new CheckpointError(dir, `${file} has no tensor "${prefix + name}"; the config expects ${shapeStr(shape)}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        dir,
        `${file} tensor "${prefix + name}" has shape ${shapeStr(t.shape)} but the config expects ${shapeStr(shape)} (a checkpoint ` +
          `of a different architecture?)`,
      );
    }
    out.set(name, t.data);
  }
  const extra = [...tensors.keys()].filter((k) => !out.has(k.slice(prefix.length)) || !k.startsWith(prefix));
  if (extra.length)
    throw new CheckpointError(
      dir,
      `${file} has tensors the config does not define: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`,
    );
  return out;
}

/** Reads and validates a checkpoint; optimizer state only when the checkpoint has it and withOptimizer is not false. */
/** A checkpoint's config and metadata, read from its sidecar alone (the weights stay on disk). */
export function checkpointInfo(dir: string): Pick<Checkpoint, 'config' | 'meta'> {
  const s = readSidecar(dir);
  return { config: s.config, meta: metaOf(s) };
}

function metaOf(s: Sidecar): CheckpointMeta {
  return {
    step: s.step,
    tokensSeen: s.tokensSeen,
    ...(s.tokenizer ? { tokenizer: s.tokenizer } : {}),
    dataPosition: s.dataPosition ?? undefined,
    rngState: s.rngState ?? undefined,
    metrics: s.metrics ?? {},
  };
}

export function loadCheckpoint(dir: string, opts: { withOptimizer?: boolean } = {}): Checkpoint {
  const s = readSidecar(dir);
  const params = matchShapes(dir, WEIGHTS_FILE, s.config, readTensors(dir, WEIGHTS_FILE, s.weights?.sha256), '');
  let optimizer: OptimizerState | undefined;
  if (s.optimizer && opts.withOptimizer !== false) {
    const all = readTensors(dir, s.optimizer.file, s.optimizer.sha256);
    const m = new Map<string, { shape: number[]; data: Float32Array }>(),
      v = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of all) {
      if (k.startsWith('m.')) m.set(k, t);
      else if (k.startsWith('v.')) v.set(k, t);
      else throw new CheckpointError(dir, `${s.optimizer.file} has tensor "${k}", expected only m.<param> and v.<param>`);
    }
    optimizer = {
      m: matchShapes(dir, s.optimizer.file, s.config, m, 'm.'),
      v: matchShapes(dir, s.optimizer.file, s.config, v, 'v.'),
      step: s.optimizer.step,
      hyper: s.optimizer.hyperparameters ?? {},
    };
  }
  return { config: s.config, params, optimizer, meta: metaOf(s) };
}

// ---------------------------------------------------------------------------------------------
// rotation: root/step-000100/, root/step-000200/, root/latest -> "step-000200"

const STEP_DIR = /^step-(\d+)$/;
const LATEST_FILE = 'latest';

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Step directories under root that hold a finished checkpoint, oldest first. */
export function listCheckpoints(root: string): { step: number; dir: string }[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ m: STEP_DIR.exec(name), name }))
    .filter(({ m, name }) => m && existsSync(join(root, name, SIDECAR_FILE)))
    .map(({ m, name }) => ({ step: Number(m![1]), dir: join(root, name) }))
    .sort((a, b) => a.step - b.step);
}

/**
 * The checkpoint `latest` points to; if the pointer is missing or names a directory that is
 * gone (a crash between writing the directory and the pointer), the highest finished step.
 */
export function latestCheckpoint(root: string): string | null {
  const pointer = join(root, LATEST_FILE);
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, 'utf8').trim();
    if (STEP_DIR.test(name) && existsSync(join(root, name, SIDECAR_FILE))) return join(root, name);
  }
  const all = listCheckpoints(root);
  return all.length ? all[all.length - 1].dir : null;
}

/**
 * A checkpoint directory given either itself or a training run's directory (then its newest
 * checkpoint under checkpoints/), or null when path is neither.
 */
export function findCheckpoint(path: string): string | null {
  const p = resolve(path);
  if (existsSync(join(p, SIDECAR_FILE))) return p;
  return latestCheckpoint(existsSync(join(p, 'checkpoints')) ? join(p, 'checkpoints') : p);
}

/**
 * Saves root/step-NNNNNN, points `latest` at it, then deletes all but the newest keepLast
 * finished checkpoints and any temp directories left by crashed saves of this root.
 */
export function saveRotating(root: string, ckpt: Checkpoint, keepLast: number, opts: SaveOptions = {}): string {
  if (!Number.isInteger(keepLast) || keepLast < 1) throw new Error(`saveRotating: keepLast must be an integer >= 1, got ${keepLast}`);
  mkdirSync(root, { recursive: true });
  const dir = join(root, stepDirName(ckpt.meta.step));
  saveCheckpoint(dir, ckpt, opts);
  writeFileAtomic(join(root, LATEST_FILE), basename(dir) + '\n');
  const all = listCheckpoints(root);
  for (const old of all.slice(0, Math.max(0, all.length - keepLast))) {
    if (old.dir !== dir) rmSync(old.dir, { recursive: true, force: true });
  }
  for (const name of readdirSync(root)) {
    // Leftovers of saves that died mid-write: hidden temp/old step directories not owned by a live save of ours.
    if (/^\.step-\d+\.(tmp|old)-/.test(name) && statSync(join(root, name)).isDirectory())
      rmSync(join(root, name), { recursive: true, force: true });
  }
  return dir;
}
