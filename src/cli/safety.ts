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
import { writeFileSync } from 'node:fs';
import type { SafetyKind } from '../data/index.ts';
import { join, resolve } from 'node:path';
import {
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
} from '../safety/index.ts';
import { defaultBackend, type Backend } from '../tensor/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';
import { interruptible } from './interrupt.ts';

const cmd = 'tetra safety';
const USAGE =
  'tetra safety rbrm-train --out DIR [--steps N] [--depth N] [--resume]\n' +
  '       tetra safety rbrm-eval --model DIR [--json]\n' +
  '       tetra safety classify --model DIR --request TEXT --response TEXT [--kind harmful|lookalike|sensitive]\n' +
  '       tetra safety moderation-train --out DIR [--steps N] [--depth N] [--resume]\n' +
  '       tetra safety moderation-eval --model DIR [--json]\n' +
  '       tetra safety moderate --model DIR --text TEXT';

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
    print: (a) => printAgreement(RUBRIC_CLASSES, a),
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
    depth: { type: 'number', help: '*-train: layers (width 64 x depth)', default: 2 },
    resume: { type: 'boolean', help: '*-train: continue from OUT' },
    request: { type: 'string', help: 'classify: the request' },
    response: { type: 'string', help: 'classify: the response to classify' },
    text: { type: 'string', help: 'moderate: the text to moderate' },
    kind: { type: 'string', help: 'classify: the request is harmful, lookalike or sensitive; adds the safety reward' },
    json: { type: 'boolean', help: 'print JSON' },
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
        const o = { out, steps: numberFlag(f, 'steps', 1, 1e7, cmd), depth: numberFlag(f, 'depth', 1, 16, cmd), resume: Boolean(f.resume) };
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
    throw new UsageError(
      `${cmd}: expected rbrm-train, rbrm-eval, classify, moderation-train, moderation-eval or moderate (usage: ${USAGE})`,
    );
  },
};
