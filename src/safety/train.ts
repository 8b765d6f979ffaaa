// Training the rubric classifier: the rubric-labelled (request, response) triples of the safety
// generator (src/data/synthetic/safety.ts) as classifier conversations, a fresh small model
// fine-tuned on them with the SFT loop (src/train/sft.ts), and its agreement with the held-out
// triples (unseen requests, templates, phrasings and refusal wordings).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rubricSamples } from '../data/index.ts';
import { configFromDepth } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import { byteTokenizer } from '../tokenizer/index.ts';
import { defaultAdamW, nominalPeakFlops, sft, type TrainResult } from '../train/index.ts';
import { agreement, type Agreement } from './agreement.ts';
import { type RbrmClassifier, rbrmConversation, RUBRIC_CLASSES, type RubricLabel } from './rbrm.ts';

export interface RbrmTrainOptions {
  out: string;
  steps?: number;
  depth?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  replicas?: number;
  resume?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

const D_REPEAT = 5;
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

export async function trainRbrm(o: RbrmTrainOptions, backend: Backend<Float32Array>): Promise<TrainResult> {
  mkdirSync(o.out, { recursive: true });
  // Safe answers (D) come one per safe prompt, refusals three per harmful one: in training, D is
  // repeated so the four classes weigh about the same.
  const toConversations = (split: 'train' | 'eval') =>
    rubricSamples(split).flatMap((s) =>
      Array.from({ length: split === 'train' && s.label === 'D' ? D_REPEAT : 1 }, () => ({
        messages: rbrmConversation(s.prompt, s.response, s.label),
      })),
    );
  const trainFile = join(o.out, 'rubric.train.jsonl'),
    valFile = join(o.out, 'rubric.val.jsonl');
  writeFileSync(trainFile, jsonl(toConversations('train')));
  writeFileSync(valFile, jsonl(toConversations('eval')));
  const tok = byteTokenizer();
  const steps = o.steps ?? 300;
  return sft(
    {
      model: configFromDepth(o.depth ?? 2, { vocabSize: tok.idLimit, contextLength: 640, nEmbd: 64 * (o.depth ?? 2) }),
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
      tokenizer: { name: 'bytes' },
      resume: o.resume ?? false,
      replicas: o.replicas,
    },
    tok,
    backend,
    { log: o.log, signal: o.signal },
  );
}

/** The classifier's agreement with the held-out rubric labels. */
export function rbrmAgreement(c: RbrmClassifier): Agreement<RubricLabel> {
  return agreement(
    RUBRIC_CLASSES,
    rubricSamples('eval').map((s) => ({ label: s.label, predicted: c.classify(s.prompt, s.response).label })),
  );
}
