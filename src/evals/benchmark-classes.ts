// The benchmark templates' factories, under the registry class names (class-table.ts) that run them:
//   tetra.multiple_choice  samples_jsonl lines {input, choices, gold | labels[, subject]}
//   tetra.mmlu             dir | language, split, k, subjects, answer_word  (public MMLU CSVs)
//   tetra.truthfulqa       task: mc1 | mc2, path                            (mc_task.json)
//   tetra.humaneval        path, n, ks, temperature, max_tokens, concurrency, allow_unsandboxed,
//                          cpu_seconds, wall_seconds, memory_mb             (HumanEval JSONL)
//   tetra.gsm8k            dir, split, k, max_tokens                        (GSM8K JSONL)
// The factories; class-table.ts lists them under their names.
import { samplesFromArgs, type TemplateEnv, type TemplateFactory } from './classes.ts';
import { HumanEvalEval } from './humaneval.ts';
import { Gsm8kEval, loadGsm8k, loadHumanEval, loadMmlu, loadTruthfulQA } from './loaders/index.ts';
import { MultipleChoiceEval, type MultipleChoiceSample } from './multiple-choice.ts';
import type { Sample } from './types.ts';

type Args = Record<string, unknown>;
const opt = <T>(a: Args, k: string, type: 'string' | 'number' | 'boolean', env: TemplateEnv): T | undefined => {
  const v = a[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== type) throw new Error(`${env.file}: eval "${env.key}": args.${k} must be a ${type}, got ${JSON.stringify(v)}`);
  return v as T;
};
const strings = (a: Args, k: string, env: TemplateEnv): string[] | undefined => {
  const v = a[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new Error(`${env.file}: eval "${env.key}": args.${k} must be a list of strings`);
  return v as string[];
};
const mcOptions = (a: Args, env: TemplateEnv) => ({
  targetDelimiter: opt<string>(a, 'target_delimiter', 'string', env),
  normalise: opt<'bytes' | 'chars'>(a, 'normalise', 'string', env),
});

export const multipleChoiceFactory: TemplateFactory = (a, env) => ({
  template: new MultipleChoiceEval(mcOptions(a, env)),
  samples: () => samplesFromArgs(a, env)() as MultipleChoiceSample[],
});

export const mmluFactory: TemplateFactory = (a, env) => ({
  template: new MultipleChoiceEval(mcOptions(a, env)),
  samples: (): Sample[] =>
    loadMmlu({
      dir: opt<string>(a, 'dir', 'string', env),
      language: opt<string>(a, 'language', 'string', env),
      split: opt<'test' | 'val' | 'dev'>(a, 'split', 'string', env),
      k: opt<number>(a, 'k', 'number', env),
      subjects: strings(a, 'subjects', env),
      answerWord: opt<string>(a, 'answer_word', 'string', env),
    }),
});

export const truthfulqaFactory: TemplateFactory = (a, env) => {
  const task = opt<string>(a, 'task', 'string', env) ?? 'mc2';
  if (task !== 'mc1' && task !== 'mc2') throw new Error(`${env.file}: eval "${env.key}": args.task must be mc1 or mc2, got ${task}`);
  return { template: new MultipleChoiceEval(), samples: () => loadTruthfulQA({ task, path: opt<string>(a, 'path', 'string', env) }) };
};

export const humanevalFactory: TemplateFactory = (a, env) => {
  const mem = opt<number>(a, 'memory_mb', 'number', env);
  return {
    template: new HumanEvalEval({
      n: opt<number>(a, 'n', 'number', env),
      ks: a.ks as number[] | undefined,
      temperature: opt<number>(a, 'temperature', 'number', env),
      maxTokens: opt<number>(a, 'max_tokens', 'number', env),
      concurrency: opt<number>(a, 'concurrency', 'number', env),
      sandbox: {
        allowUnsandboxed: opt<boolean>(a, 'allow_unsandboxed', 'boolean', env),
        cpuSeconds: opt<number>(a, 'cpu_seconds', 'number', env),
        wallSeconds: opt<number>(a, 'wall_seconds', 'number', env),
        memoryBytes: mem === undefined ? undefined : mem * 2 ** 20,
      },
    }),
    samples: () => loadHumanEval(opt<string>(a, 'path', 'string', env)),
  };
};

export const gsm8kFactory: TemplateFactory = (a, env) => ({
  template: new Gsm8kEval({ maxTokens: opt<number>(a, 'max_tokens', 'number', env) }),
  samples: () =>
    loadGsm8k({
      dir: opt<string>(a, 'dir', 'string', env),
      split: opt<'test' | 'train'>(a, 'split', 'string', env),
      k: opt<number>(a, 'k', 'number', env),
    }),
});
