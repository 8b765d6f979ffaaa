// `tetra safety`: the small classifiers of src/safety.
//   rbrm-train --out DIR   trains the rule-based reward model's rubric classifier on the safety
//                          generator's rubric-labelled (request, response) pairs, then reports its
//                          agreement with held-out ones
//   rbrm-eval --model DIR  that agreement again: accuracy, per-class F1, the confusion matrix
//   classify --model DIR --request R --response S [--kind harmful|lookalike|sensitive]
//                          one response's class (A-D) and the four probabilities, as JSON; with
//                          --kind, the safety reward too (src/safety/reward.ts)
//   moderation-train --out DIR, moderation-eval --model DIR
//                          the same for the moderation classifier (served at /v1/moderations)
//   moderate --model DIR --text T
//                          OpenAI's moderation result for one text, as JSON
//   pairs --policy DIR --rbrm DIR --prompts F[,F...] --out pairs.jsonl
//                          DPO pairs: the policy's sampled answers to each prompt (evals-style
//                          samples: {"input", "ideal", "kind"?}), ranked by the safety reward or
//                          by correctness (src/safety/pairs.ts)
import { appendFileSync, writeFileSync } from 'node:fs';
import type { SafetyKind } from '../data/index.ts';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../model/index.ts';
import {
  buildPairs,
  MODERATION_LABELS,
  ModerationClassifier,
  moderationAgreement,
  RbrmClassifier,
  rbrmAgreement,
  RUBRIC_CLASSES,
  SAFETY_REWARD,
  safetyReward,
  trainModeration,
  trainRbrm,
  type Agreement,
  type ClassifierTrainOptions,
  readPrompts,
} from '../safety/index.ts';
import { defaultBackend, type Backend } from '../tensor/index.ts';
import { numberFlag, UsageError, type Flags } from './args.ts';
import type { Command } from './command.ts';
import { resolveCheckpoint } from './generate.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra safety';
const USAGE =
  'tetra safety rbrm-train --out DIR [--steps N] [--depth N | --from CKPT] [--resume]\n' +
  '       tetra safety rbrm-eval --model DIR [--json]\n' +
  '       tetra safety classify --model DIR --request TEXT --response TEXT [--kind harmful|lookalike|sensitive]\n' +
  '       tetra safety moderation-train --out DIR [--steps N] [--depth N | --from CKPT] [--resume]\n' +
  '       tetra safety moderation-eval --model DIR [--json]\n' +
  '       tetra safety moderate --model DIR --text TEXT\n' +
  '       tetra safety pairs --policy DIR --rbrm DIR --prompts FILE[,FILE...] --out pairs.jsonl [--samples N] [--per-prompt N]';

function printAgreement<L extends string>(classes: readonly L[], a: Agreement<L>): void {
  console.log(`held-out texts: ${a.n}; accuracy ${a.accuracy.toFixed(3)}; macro-F1 ${a.macroF1.toFixed(3)}`);
  console.log(`class    precision  recall     F1  support   predicted as ${classes.map((c) => c.padStart(7)).join('')}`);
  for (const c of classes) {
    const p = a.perClass[c];
    console.log(
      `${c.padEnd(7)}  ${p.precision.toFixed(3).padStart(9)}  ${p.recall.toFixed(3).padStart(6)}  ${p.f1.toFixed(3).padStart(5)}  ` +
        `${String(p.support).padStart(7)}               ${classes.map((d) => String(a.confusion[c][d]).padStart(7)).join('')}`,
    );
  }
}

/** What the train and eval actions need of each classifier. */
interface Classifier<C, A> {
  train(o: ClassifierTrainOptions, backend: Backend<Float32Array>): Promise<unknown>;
  load(dir: string, backend: Backend<Float32Array>): Promise<C>;
  agreement(c: C): A;
  print(a: A): void;
}

/** A classifier's train action, and its held-out agreement printed (JSON with --json) and saved when a file is given. */
const actions = <C, A>(k: Classifier<C, A>) => ({
  train: k.train,
  async report(dir: string, json: boolean, file?: string): Promise<void> {
    const a = k.agreement(await k.load(dir, defaultBackend()));
    if (file) writeFileSync(file, `${JSON.stringify(a, null, 2)}\n`);
    if (json) console.log(JSON.stringify(a));
    else k.print(a);
  },
});

const CLASSIFIERS: Record<'rbrm' | 'moderation', ReturnType<typeof actions>> = {
  rbrm: actions({
    train: trainRbrm,
    load: RbrmClassifier.load,
    agreement: rbrmAgreement,
    print: (a) => {
      printAgreement(RUBRIC_CLASSES, a);
      console.log('audited policy samples (src/safety/policy-samples.jsonl):');
      printAgreement(RUBRIC_CLASSES, a.policy);
    },
  }),
  moderation: actions({
    train: trainModeration,
    load: ModerationClassifier.load,
    agreement: moderationAgreement,
    print: (a) => {
      printAgreement(MODERATION_LABELS, a.labels);
      printAgreement(['flagged', 'ok'] as const, a.flagged);
    },
  }),
};

export const safetyCommand: Command = {
  name: 'safety',
  summary: 'the rubric (RBRM) and moderation classifiers: train, evaluate, classify a response, moderate a text',
  usage: USAGE,
  flags: {
    out: { type: 'string', help: '*-train: run directory for the classifier' },
    model: { type: 'string', help: 'the classifier (a run directory from *-train)' },
    steps: { type: 'number', help: '*-train: optimizer steps', default: 300 },
    depth: { type: 'number', help: '*-train: layers (width 64 x depth) of a fresh model', default: 2 },
    from: { type: 'string', help: '*-train: start from this pretrained checkpoint (run directory) instead of a fresh model' },
    resume: { type: 'boolean', help: '*-train: continue from OUT' },
    request: { type: 'string', help: 'classify: the request' },
    response: { type: 'string', help: 'classify: the response to classify' },
    text: { type: 'string', help: 'moderate: the text to moderate' },
    kind: { type: 'string', help: 'classify: the request is harmful, lookalike or sensitive; adds the safety reward' },
    json: { type: 'boolean', help: 'print JSON' },
    policy: { type: 'string', help: 'pairs: the SFT model whose answers are ranked' },
    rbrm: { type: 'string', help: 'pairs: the rubric classifier that scores answers to safety prompts' },
    prompts: { type: 'string', help: 'pairs: evals-style sample files ({"input", "ideal", "kind"?} per line), comma-separated' },
    samples: { type: 'number', help: 'pairs: answers sampled per prompt', default: 4 },
    'per-prompt': { type: 'number', help: 'pairs: most pairs per prompt', default: 2 },
    'max-tokens': { type: 'number', help: 'pairs: longest sampled answer', default: 64 },
    temperature: { type: 'number', help: 'pairs: sampling temperature', default: 1 },
    margin: { type: 'number', help: 'pairs: least score difference within a pair', default: 0.5 },
    seed: { type: 'number', help: '*-train: initialisation and data order; pairs: sampling', default: 1 },
  },
  async run(f, rest) {
    const [action, ...extra] = rest;
    if (extra.length) throw new UsageError(`${cmd}: unexpected argument '${extra[0]}' (usage: ${USAGE})`);
    const [, name, verb] = /^(rbrm|moderation)-(train|eval)$/.exec(action ?? '') ?? [];
    const classifier = name ? CLASSIFIERS[name as keyof typeof CLASSIFIERS] : undefined;
    if (classifier && verb === 'train') {
      if (!f.out) throw new UsageError(`${cmd} ${action}: --out DIR is required`);
      const out = resolve(String(f.out));
      return interruptible(async (signal) => {
        const o = {
          out,
          steps: numberFlag(f, 'steps', 1, 1e7, cmd),
          depth: numberFlag(f, 'depth', 1, 16, cmd),
          seed: numberFlag(f, 'seed', 0, 2 ** 31, cmd),
          resume: Boolean(f.resume),
          from: f.from ? resolveCheckpoint(String(f.from)) : undefined,
        };
        await classifier.train({ ...o, signal }, defaultBackend());
        if (signal.aborted) return 130;
        await classifier.report(out, Boolean(f.json), join(out, 'agreement.json'));
        return 0;
      });
    }
    const model = () => {
      if (!f.model) throw new UsageError(`${cmd} ${action}: --model DIR is required`);
      return resolve(String(f.model));
    };
    if (classifier && verb === 'eval') {
      await classifier.report(model(), Boolean(f.json));
      return 0;
    }
    if (action === 'classify') {
      const c = await RbrmClassifier.load(model(), defaultBackend());
      if (typeof f.request !== 'string' || typeof f.response !== 'string')
        throw new UsageError(`${cmd} classify: --request TEXT and --response TEXT are required`);
      const r = c.classify(f.request, f.response);
      if (f.kind === undefined) {
        console.log(JSON.stringify(r));
        return 0;
      }
      const kind = String(f.kind);
      if (!(kind in SAFETY_REWARD))
        throw new UsageError(`${cmd} classify: --kind must be ${Object.keys(SAFETY_REWARD).join(', ')}, got '${kind}'`);
      console.log(JSON.stringify({ ...r, reward: safetyReward(kind as SafetyKind, r.scores) }));
      return 0;
    }
    if (action === 'moderate') {
      const c = await ModerationClassifier.load(model(), defaultBackend());
      if (typeof f.text !== 'string') throw new UsageError(`${cmd} moderate: --text TEXT is required`);
      console.log(JSON.stringify(c.moderate(f.text)));
      return 0;
    }
    if (action === 'pairs') return pairs(f);
    throw new UsageError(
      `${cmd}: expected rbrm-train, rbrm-eval, classify, moderation-train, moderation-eval, moderate or pairs (usage: ${USAGE})`,
    );
  },
};

async function pairs(f: Flags): Promise<number> {
  for (const k of ['policy', 'prompts', 'out']) if (!f[k]) throw new UsageError(`${cmd} pairs: --${k} is required (usage: ${USAGE})`);
  const prompts = readPrompts(
    String(f.prompts)
      .split(',')
      .map((x) => resolve(x)),
  );
  if (prompts.some((p) => p.kind) && !f.rbrm)
    throw new UsageError(`${cmd} pairs: the prompts include safety prompts; --rbrm DIR is required`);
  const backend = defaultBackend();
  const policy = await openCheckpoint(resolve(String(f.policy)));
  const rbrm = f.rbrm ? await RbrmClassifier.load(resolve(String(f.rbrm)), backend) : null;
  const out = resolve(String(f.out));
  writeFileSync(out, '');
  return interruptible(async (signal) => {
    const r = buildPairs(
      policy,
      backend,
      rbrm,
      prompts,
      {
        samples: numberFlag(f, 'samples', 1, 64, cmd),
        perPrompt: numberFlag(f, 'per-prompt', 1, 64, cmd),
        maxTokens: numberFlag(f, 'max-tokens', 1, 4096, cmd),
        temperature: numberFlag(f, 'temperature', 0, 5, cmd, false),
        margin: numberFlag(f, 'margin', 0, 2, cmd, false),
        seed: numberFlag(f, 'seed', 0, 2 ** 31, cmd),
      },
      (line) => appendFileSync(out, `${line}\n`),
      { signal },
    );
    console.log(JSON.stringify({ ...r, out }));
    return signal.aborted ? 130 : 0;
  });
}
