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
} from '../safety/index.ts';
import { defaultBackend } from '../tensor/index.ts';
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
    if (action === 'rbrm-train') {
      if (!f.out) throw new UsageError(`${cmd} rbrm-train: --out DIR is required`);
      const out = resolve(String(f.out));
      return interruptible(async (signal) => {
        await trainRbrm(
          {
            out,
            steps: numberFlag(f, 'steps', 1, 1e7, cmd),
            depth: numberFlag(f, 'depth', 1, 16, cmd),
            resume: Boolean(f.resume),
            signal,
          },
          defaultBackend(),
        );
        if (signal.aborted) return 130;
        const a = rbrmAgreement(await RbrmClassifier.load(out, defaultBackend()));
        writeFileSync(join(out, 'agreement.json'), `${JSON.stringify(a, null, 2)}\n`);
        if (f.json) console.log(JSON.stringify(a));
        else printAgreement(RUBRIC_CLASSES, a);
        return 0;
      });
    }
    if (action === 'rbrm-eval' || action === 'classify') {
      if (!f.model) throw new UsageError(`${cmd} ${action}: --model DIR is required`);
      const c = await RbrmClassifier.load(resolve(String(f.model)), defaultBackend());
      if (action === 'classify') {
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
      const a = rbrmAgreement(c);
      if (f.json) console.log(JSON.stringify(a));
      else printAgreement(RUBRIC_CLASSES, a);
      return 0;
    }
    if (action === 'moderation-train') {
      if (!f.out) throw new UsageError(`${cmd} moderation-train: --out DIR is required`);
      const out = resolve(String(f.out));
      return interruptible(async (signal) => {
        const o = { out, steps: numberFlag(f, 'steps', 1, 1e7, cmd), depth: numberFlag(f, 'depth', 1, 16, cmd), resume: Boolean(f.resume) };
        await trainModeration({ ...o, signal }, defaultBackend());
        if (signal.aborted) return 130;
        const a = moderationAgreement(await ModerationClassifier.load(out, defaultBackend()));
        writeFileSync(join(out, 'agreement.json'), `${JSON.stringify(a, null, 2)}\n`);
        if (f.json) console.log(JSON.stringify(a));
        else {
          printAgreement(MODERATION_LABELS, a.labels);
          printAgreement(['flagged', 'ok'] as const, a.flagged);
        }
        return 0;
      });
    }
    if (action === 'moderation-eval' || action === 'moderate') {
      if (!f.model) throw new UsageError(`${cmd} ${action}: --model DIR is required`);
      const c = await ModerationClassifier.load(resolve(String(f.model)), defaultBackend());
      if (action === 'moderate') {
        if (typeof f.text !== 'string') throw new UsageError(`${cmd} moderate: --text TEXT is required`);
        console.log(JSON.stringify(c.moderate(f.text)));
        return 0;
      }
      const a = moderationAgreement(c);
      if (f.json) console.log(JSON.stringify(a));
      else {
        printAgreement(MODERATION_LABELS, a.labels);
        printAgreement(['flagged', 'ok'] as const, a.flagged);
      }
      return 0;
    }
    throw new UsageError(
      `${cmd}: expected rbrm-train, rbrm-eval, classify, moderation-train, moderation-eval or moderate (usage: ${USAGE})`,
    );
  },
};
