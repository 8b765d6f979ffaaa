// The prediction registry: an append-only JSONL file in which a prediction is written before the
// run it predicts starts, and the score after it ends. Each line carries the sha256 of its own
// content and of the line before it (a hash chain), so editing, deleting or reordering any line
// is detected on the next read, and no code here ever rewrites the file. A score counts only if
// its prediction was registered before the target started (the GPT-4 report's condition).
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface Prediction {
  kind: 'prediction';
  target: string;
  targetFlops: number;
  /** Predicted final validation loss, with its bootstrap interval. */
  loss: number;
  interval: [number, number];
  level: number;
  law: { a: number; b: number; c: number };
  ladder: { compute: number; loss: number }[];
  gitRevision: string | null;
}

export interface Started {
  kind: 'started';
  target: string;
}

export interface Score {
  kind: 'score';
  target: string;
  measuredLoss: number;
  predictedLoss: number;
  /** |measured - predicted| / measured, in percent. */
  errorPct: number;
  withinInterval: boolean;
}

export type RegistryEntry = (Prediction | Started | Score) & { seq: number; createdAt: string; prev: string; hash: string };

export class RegistryError extends Error {}

const GENESIS = '0'.repeat(64);

function digest(entry: Omit<RegistryEntry, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
}

/** Every entry, after checking the chain; a line changed, removed or moved by hand is an error naming it. */
export function readRegistry(file: string): RegistryEntry[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  let prev = GENESIS;
  return lines.map((line, i) => {
    let e: RegistryEntry;
    try {
      e = JSON.parse(line) as RegistryEntry;
    } catch {
      throw new RegistryError(`${file}:${i + 1}: not JSON; the registry was edited by hand`);
    }
    const { hash, ...rest } = e;
    if (e.seq !== i + 1 || e.prev !== prev || digest(rest) !== hash) {
      throw new RegistryError(
        `${file}:${i + 1}: this entry was changed, removed or moved after it was written (its hash chain breaks here); registered ` +
          `predictions cannot be edited`,
      );
    }
    prev = hash;
    return e;
  });
}

function append(file: string, body: Prediction | Started | Score, now: Date): RegistryEntry {
  const entries = readRegistry(file);
  const rest = { ...body, seq: entries.length + 1, createdAt: now.toISOString(), prev: entries.at(-1)?.hash ?? GENESIS };
  const entry = { ...rest, hash: digest(rest) } as RegistryEntry;
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
  return entry;
}

/**
 * The start that counts for a target: its own, or its run's for a metric of a run (`run:metric`,
 * e.g. a capability bucket of the target), since the metric's model began training then.
 */
const startOf = (entries: RegistryEntry[], target: string) =>
  entries.find((e) => e.kind === 'started' && (e.target === target || target.startsWith(`${e.target}:`)));

/** Registers a prediction for `target`; refused once the target has started, or if it already has one. */
export function registerPrediction(file: string, p: Omit<Prediction, 'kind'>, now = new Date()): RegistryEntry {
  const entries = readRegistry(file);
  if (startOf(entries, p.target)) {
    throw new RegistryError(`${p.target} has already started training; a prediction registered now would not be a prediction`);
  }
  if (entries.some((e) => e.target === p.target && e.kind === 'prediction')) {
    throw new RegistryError(`${p.target} already has a registered prediction (${file}); predictions are never replaced`);
  }
  return append(file, { kind: 'prediction', ...p }, now);
}

/** Records that the target's training has begun (call before its first step). */
export function recordStart(file: string, target: string, now = new Date()): RegistryEntry {
  const entries = readRegistry(file);
  const started = entries.find((e) => e.target === target && e.kind === 'started');
  return started ?? append(file, { kind: 'started', target }, now);
}

/** Scores the target's measured loss against its prediction; only a prediction registered before the start counts. */
export function scorePrediction(file: string, target: string, measuredLoss: number, now = new Date()): RegistryEntry & Score {
  if (!Number.isFinite(measuredLoss) || measuredLoss <= 0)
    throw new RegistryError(`measured loss must be a positive number, got ${measuredLoss}`);
  const entries = readRegistry(file);
  const prediction = entries.find((e): e is RegistryEntry & Prediction => e.target === target && e.kind === 'prediction');
  if (!prediction) throw new RegistryError(`${target} has no registered prediction in ${file}; it cannot be scored`);
  const started = startOf(entries, target);
  if (!started) throw new RegistryError(`${target} has no recorded start in ${file}; record the start before training (tetra scale start)`);
  if (started.seq < prediction.seq) {
    throw new RegistryError(
      `${target}'s prediction (entry ${prediction.seq}) was registered after it started (entry ${started.seq}); it does not count ` +
        `as a prediction`,
    );
  }
  const errorPct = (Math.abs(measuredLoss - prediction.loss) / measuredLoss) * 100;
  const withinInterval = measuredLoss >= prediction.interval[0] && measuredLoss <= prediction.interval[1];
  return append(
    file,
    { kind: 'score', target, measuredLoss, predictedLoss: prediction.loss, errorPct, withinInterval },
    now,
  ) as RegistryEntry & Score;
}
