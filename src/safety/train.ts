// Training the letter classifiers (letters.ts): labelled texts as classifier conversations, a
// fresh small byte model fine-tuned on them with the SFT loop (src/train/sft.ts), and their
// agreement with held-out labels. The rubric classifier learns from the safety generator's
// rubric triples (unseen requests, templates, phrasings and refusal wordings held out); the
// moderation classifier from its requests by category.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonl } from '../util/index.ts';
import { rubricSamples } from '../data/index.ts';
import { checkpointInfo, configFromDepth } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import { byteTokenizer, openTokenizerRef } from '../tokenizer/index.ts';
import { defaultAdamW, nominalPeakFlops, sft, type TrainResult } from '../train/index.ts';
import { agreement, type Agreement } from './agreement.ts';
import { letterConversation } from './letters.ts';
import { MODERATION_LABELS, MODERATION_SYSTEM, type ModerationClassifier, type ModerationLabel, moderationSamples } from './moderation.ts';
import { type RbrmClassifier, rbrmConversation, RUBRIC_CLASSES, type RubricLabel } from './rbrm.ts';

export interface ClassifierTrainOptions {
  out: string;
  steps?: number;
  depth?: number;
  /** A pretrained checkpoint to start from (its config and tokenizer) instead of a fresh depth-`depth` byte model. */
  from?: string;
  batch?: number;
  lr?: number;
  seed?: number;
  replicas?: number;
  resume?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** Fine-tunes a fresh small model on (conversation) rows; checkpoints, resume and progress as in SFT. */
async function trainLetters(
  o: ClassifierTrainOptions,
  train: { messages: unknown }[],
  val: { messages: unknown }[],
  backend: Backend<Float32Array>,
): Promise<TrainResult> {
  mkdirSync(o.out, { recursive: true });
  const trainFile = join(o.out, 'classifier.train.jsonl'),
    valFile = join(o.out, 'classifier.val.jsonl');
  writeFileSync(trainFile, jsonl(train));
  writeFileSync(valFile, jsonl(val));
  const ref = o.from ? checkpointInfo(o.from).meta.tokenizer : undefined;
  const tok = o.from ? await openTokenizerRef(ref ?? {}) : byteTokenizer();
  const steps = o.steps ?? 300;
  return sft(
    {
      ...(o.from
        ? { checkpoint: o.from }
        : { model: configFromDepth(o.depth ?? 2, { vocabSize: tok.idLimit, contextLength: 640, nEmbd: 64 * (o.depth ?? 2) }) }),
      trainFile,
      valFile,
      out: o.out,
      batchSize: o.batch ?? 16,
      accum: 1,
      steps,
      optimizer: { ...defaultAdamW, lr: o.lr ?? 2e-3 },
      schedule: { minLr: 0, warmup: Math.min(30, Math.floor(steps / 10)), decay: 'linear' },
      seed: o.seed ?? 1,
      evalEvery: Math.max(1, Math.floor(steps / 4)),
      sampleEvery: 0,
      checkpointEvery: Math.max(1, Math.floor(steps / 4)),
      keepCheckpoints: 1,
      peakFlops: nominalPeakFlops(),
      tokenizer: { ...ref, name: ref?.name ?? 'bytes' },
      resume: o.resume ?? false,
      replicas: o.replicas,
    },
    tok,
    backend,
    { log: o.log, signal: o.signal },
  );
}

/**
 * Draws of the training triples (each its own seed: other refusals, garbles and babble for the
 * same prompts). One draw held 1,300 rows when a few hundred steps of 16 went through it 7 times.
 */
const RUBRIC_TRAIN_DRAWS = 4;

export function trainRbrm(o: ClassifierTrainOptions, backend: Backend<Float32Array>): Promise<TrainResult> {
  const rows = (split: 'train' | 'eval', seed: number) =>
    rubricSamples(split, seed).map((s) => ({ messages: rbrmConversation(s.prompt, s.response, s.label) }));
  const train = Array.from({ length: RUBRIC_TRAIN_DRAWS }, (_, i) => rows('train', i + 1)).flat();
  return trainLetters(o, train, rows('eval', 1), backend);
}

export function trainModeration(o: ClassifierTrainOptions, backend: Backend<Float32Array>): Promise<TrainResult> {
  const rows = (split: 'train' | 'eval') =>
    moderationSamples(split).map((s) => ({ messages: letterConversation(MODERATION_SYSTEM, s.text, s.label) }));
  return trainLetters(o, rows('train'), rows('eval'), backend);
}

/**
 * Real policy samples with audited rubric labels (policy-samples.jsonl): the safety-eval answers
 * of tetra-1-2026-12-05's five models (base, SFT without and with safety data, DPO, RL), one row
 * per distinct (request, response). A response that is one of the refusal lists' texts took its
 * list's class, one with "[REDACTED" C, and the rest D; every one of those that reads like a
 * refusal (sorry, can't, unable, policy, "help with", ...) was read by hand: refusals garbled only
 * at the edges are A, word salad is D, and the 29 that mix refusal fragments into word salad,
 * where a reader cannot tell, were left out. These are the texts a grader of tetra policies meets.
 */
export function policySamples(): { model: string; kind: string; prompt: string; response: string; label: RubricLabel }[] {
  return readJsonl(join(import.meta.dirname, 'policy-samples.jsonl'));
}

/**
 * The rubric classifier's agreement with the held-out rubric labels (the synthetic split it never
 * trained on), and under `policy` with the audited policy samples.
 */
export function rbrmAgreement(c: RbrmClassifier): Agreement<RubricLabel> & { policy: Agreement<RubricLabel> } {
  const of = (xs: { prompt: string; response: string; label: RubricLabel }[]) =>
    agreement(
      RUBRIC_CLASSES,
      xs.map((s) => ({ label: s.label, predicted: c.classify(s.prompt, s.response).label })),
    );
  return { ...of(rubricSamples('eval')), policy: of(policySamples()) };
}

/** The moderation classifier's agreement per label, and as flagged-or-not (OpenAI's `flagged`). */
export function moderationAgreement(c: ModerationClassifier): { labels: Agreement<ModerationLabel>; flagged: Agreement<'flagged' | 'ok'> } {
  const pairs = moderationSamples('eval').map((s) => ({ label: s.label, predicted: c.classify(s.text).label }));
  const flag = (l: ModerationLabel) => (l === 'N' ? 'ok' : 'flagged');
  return {
    labels: agreement(MODERATION_LABELS, pairs),
    flagged: agreement(
      ['flagged', 'ok'] as const,
      pairs.map((p) => ({ label: flag(p.label), predicted: flag(p.predicted) })),
    ),
  };
}
