// Model-graded classification (openai/evals' ModelBasedClassify semantics): a grader model reads
// a prompt built from the sample and the candidate's completion and answers with one of the
// spec's choice strings; the choice maps to a score.
//
// A spec (modelgraded/*.yaml) has:
//   prompt          a string or chat messages, with {input}, {ideal}, {completion}, ... filled
//                   from the completions, the sample's fields and modelgraded_spec_args
//   choice_strings  a list, a string of one-letter choices ("ABCDE"), or "from_n" (1..n)
//   choice_scores   {choice: score}, or "from_strings" (each choice parsed as a number)
//   input_outputs   {sample field holding a prompt: name of its completion}, e.g. {input: completion}
//   eval_type       classify | classify_cot | cot_classify (the eval's args may override)
//
// How a sample is graded:
// 1. Each input_outputs prompt is completed (max_tokens 1024) unless the sample already holds
//    that completion, so pre-recorded outputs can be graded. With several completion functions
//    the last one grades and the others answer the prompts in turn (battle: A vs B); with one,
//    it does both.
// 2. The grader prompt is filled, and an instruction for the eval type is appended: the choice
//    alone (classify), the choice then reasons (classify_cot), or reasons then the choice alone
//    on a final line (cot_classify).
// 3. The grader's reply is read line by line (bottom-up for cot_classify), each line stripped of
//    punctuation, and the first line that starts or ends with a choice picks it. A reply that
//    matches nothing is recorded as "__invalid__" and scored as the lowest score; it never fails
//    the run.
import { samplesFromArgs, type EvalInstance, type TemplateEnv } from '../classes.ts';
import { counts, mean, meanWithCI } from '../metrics.ts';
import { formatTemplate } from '../samples.ts';
import {
  textOf,
  type CompletionFn,
  type EvalMessage,
  type EvalTemplate,
  type Metrics,
  type Sample,
  type SampleContext,
  type SampleResult,
} from '../types.ts';
import { sampleCompletion } from './sampling.ts';

export const INVALID_CHOICE = '__invalid__';
export type EvalType = 'classify' | 'classify_cot' | 'cot_classify';
export type MatchFn = 'starts_or_endswith' | 'include' | 'exact' | 'endswith';

export interface ModelGradedSpec {
  prompt: string | EvalMessage[];
  choiceStrings: string[];
  choiceScores: Record<string, number> | null;
  inputOutputs: Record<string, string>;
  evalType: EvalType;
}

const EVAL_TYPES: EvalType[] = ['classify', 'classify_cot', 'cot_classify'];

/** Validates a registry spec (plus the eval's overrides) into a ModelGradedSpec, naming the bad field. */
export function parseModelGradedSpec(raw: Record<string, unknown>, where: string, evalType?: unknown): ModelGradedSpec {
  const prompt = raw.prompt;
  if (
    typeof prompt !== 'string' &&
    !(Array.isArray(prompt) && prompt.every((m) => m && typeof m.content === 'string' && typeof m.role === 'string'))
  ) {
    throw new Error(`${where}: prompt must be a string or a list of {role, content} messages`);
  }
  let choiceStrings: string[];
  const cs = raw.choice_strings;
  if (cs === 'from_n') {
    const n = Number(raw.choice_n ?? raw.n);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: choice_strings "from_n" needs n: a positive integer`);
    choiceStrings = Array.from({ length: n }, (_, i) => String(i + 1));
  } else if (typeof cs === 'string') choiceStrings = [...cs];
  else if (Array.isArray(cs) && cs.length) choiceStrings = cs.map(String);
  else throw new Error(`${where}: choice_strings must be a list, a string of letters, or "from_n"`);
  let choiceScores: Record<string, number> | null = null;
  if (raw.choice_scores === 'from_strings') {
    choiceScores = Object.fromEntries(
      choiceStrings.map((c) => {
        const v = Number(c);
        if (!Number.isFinite(v)) throw new Error(`${where}: choice_scores "from_strings" needs numeric choices, got "${c}"`);
        return [c, v];
      }),
    );
  } else if (raw.choice_scores && typeof raw.choice_scores === 'object') {
    choiceScores = {};
    for (const [k, v] of Object.entries(raw.choice_scores as Record<string, unknown>)) {
      if (typeof v !== 'number') throw new Error(`${where}: choice_scores.${k} must be a number, got ${JSON.stringify(v)}`);
      choiceScores[k] = v;
    }
    for (const c of choiceStrings) if (!(c in choiceScores)) throw new Error(`${where}: choice "${c}" has no entry in choice_scores`);
  } else if (raw.choice_scores !== undefined && raw.choice_scores !== null) {
    throw new Error(`${where}: choice_scores must be a mapping or "from_strings"`);
  }
  const io = raw.input_outputs ?? { input: 'completion' };
  if (!io || typeof io !== 'object' || Array.isArray(io))
    throw new Error(`${where}: input_outputs must map sample fields to completion names`);
  const et = (evalType ?? raw.eval_type ?? 'cot_classify') as EvalType;
  if (!EVAL_TYPES.includes(et)) throw new Error(`${where}: eval_type must be one of ${EVAL_TYPES.join(', ')}, got "${et}"`);
  return {
    prompt: prompt as string | EvalMessage[],
    choiceStrings,
    choiceScores,
    inputOutputs: io as Record<string, string>,
    evalType: et,
  };
}

// ---- the grader prompt and the reading of its reply

const quoted = (choices: readonly string[]) => choices.map((c) => `"${c}"`).join(' or ');

export function answerInstruction(t: EvalType, choices: readonly string[]): string {
  const cs = quoted(choices);
  if (t === 'classify') return `Reply with exactly one of ${cs}: the choice alone, without quotes, punctuation or any other text.`;
  if (t === 'classify_cot')
    return (
      `On the first line write exactly one of ${cs} (no quotes or punctuation). From the second line on, explain step by step ` +
      `how you reached it.`
    );
  return (
    `Work through your reasoning step by step before deciding; do not state the verdict first. Then write exactly one of ${cs} ` +
    `(no quotes or punctuation) on a line by itself, and end with that choice alone once more on the final line.\n\nReasoning:`
  );
}

/** The filled grader prompt with the eval type's instruction appended (to the last message of a chat). */
export function graderPrompt(spec: ModelGradedSpec, vars: Record<string, unknown>): string | EvalMessage[] {
  const instr = answerInstruction(spec.evalType, spec.choiceStrings);
  if (typeof spec.prompt === 'string') return `${formatTemplate(spec.prompt, vars, 'grader prompt')}\n\n${instr}`;
  const msgs = spec.prompt.map((m) => ({ ...m, content: formatTemplate(textOf(m.content), vars, 'grader prompt') }));
  msgs[msgs.length - 1] = { ...msgs[msgs.length - 1], content: `${msgs[msgs.length - 1].content}\n\n${instr}` };
  return msgs;
}

const MATCHERS: Record<MatchFn, (line: string, choice: string) => boolean> = {
  starts_or_endswith: (l, c) => l.startsWith(c) || l.endsWith(c),
  include: (l, c) => l.includes(c),
  exact: (l, c) => l === c,
  endswith: (l, c) => l.endsWith(c),
};
const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** The choice a grader reply names, or INVALID_CHOICE. */
export function readChoice(reply: string, evalType: EvalType, choices: readonly string[], matchFn: MatchFn = 'starts_or_endswith'): string {
  const match = MATCHERS[matchFn];
  let lines = reply.trim().split('\n');
  if (evalType === 'cot_classify') lines = lines.reverse();
  for (const raw of lines) {
    const line = raw.trim().replace(PUNCT, '');
    if (!line) continue;
    for (const c of choices) if (match(line, c)) return c;
  }
  return INVALID_CHOICE;
}

export function choiceScore(choice: string, scores: Record<string, number> | null): number | null {
  if (!scores) return null;
  if (choice === INVALID_CHOICE) return Math.min(...Object.values(scores));
  return scores[choice] ?? null;
}

// ---- the template

export interface ModelGradedOptions {
  spec: ModelGradedSpec;
  specArgs: Record<string, unknown>;
  matchFn: MatchFn;
  metaeval: boolean;
  sampleMaxTokens: number;
  graderMaxTokens: number;
}

export class ModelGradedClassify implements EvalTemplate {
  constructor(readonly o: ModelGradedOptions) {}

  async evalSample(sample: Sample, ctx: SampleContext): Promise<SampleResult> {
    const fns = ctx.completionFns;
    if (!fns.length) throw new Error('model-graded evals need a completion function');
    const grader = fns[fns.length - 1];
    const candidates: CompletionFn[] = fns.length > 1 ? fns.slice(0, -1) : fns;
    const completions: Record<string, string> = {};
    let k = 0;
    for (const [inKey, outKey] of Object.entries(this.o.spec.inputOutputs)) {
      if (typeof sample[outKey] === 'string') {
        completions[outKey] = sample[outKey] as string;
        continue;
      }
      const input = sample[inKey];
      if (typeof input !== 'string' && !Array.isArray(input))
        throw new Error(`sample has no "${inKey}" to complete (input_outputs maps ${inKey} -> ${outKey})`);
      completions[outKey] = await sampleCompletion(
        candidates[k++ % candidates.length],
        input as Sample['input'],
        { temperature: 0, maxTokens: this.o.sampleMaxTokens },
        ctx,
      );
    }
    const prompt = graderPrompt(this.o.spec, { ...completions, ...sample, ...this.o.specArgs });
    const reply = await sampleCompletion(grader, prompt, { temperature: 0, maxTokens: this.o.graderMaxTokens }, ctx);
    const choice = readChoice(reply, this.o.spec.evalType, this.o.spec.choiceStrings, this.o.matchFn);
    const score = choiceScore(choice, this.o.spec.choiceScores);
    const result: SampleResult = { sampleId: ctx.sampleId, choice, score, invalid: choice === INVALID_CHOICE, ...completions };
    if (this.o.metaeval) {
      if (typeof sample.choice !== 'string') throw new Error('metaeval needs samples labelled with the right "choice"');
      result.metascore = choice === sample.choice ? 1 : 0;
      result.correct = choice === sample.choice;
    }
    ctx.recorder.record({
      type: 'metrics',
      sampleId: ctx.sampleId,
      data: {
        choice,
        score,
        ...(result.metascore !== undefined ? { metascore: result.metascore } : {}),
        ...(choice === INVALID_CHOICE ? { invalid: true, grader_output: reply } : {}),
      },
    });
    return result;
  }

  aggregate(results: SampleResult[]): Metrics {
    const out: Metrics = { ...counts(results.map((r) => String(r.choice))), n: results.length };
    if (this.o.spec.choiceScores)
      Object.assign(
        out,
        meanWithCI(
          'score',
          results.map((r) => Number(r.score)),
        ),
      );
    const meta = results.filter((r) => typeof r.metascore === 'number').map((r) => r.metascore as number);
    if (meta.length) Object.assign(out, meanWithCI('metascore', meta));
    out.invalid_rate = mean(results.map((r) => (r.invalid ? 1 : 0)));
    return out;
  }
}

export function modelGradedFactory(args: Record<string, unknown>, env: TemplateEnv): EvalInstance {
  const name = args.modelgraded_spec;
  if (typeof name !== 'string')
    throw new Error(`${env.file}: ${env.key}: model-graded evals need args.modelgraded_spec (e.g. fact, closedqa, battle)`);
  const { spec: raw, file } = env.registry.modelgraded(name);
  const spec = parseModelGradedSpec(raw, `${file} (${name})`, args.eval_type);
  const matchFn = (args.match_fn ?? 'starts_or_endswith') as MatchFn;
  if (!(matchFn in MATCHERS)) throw new Error(`${env.file}: ${env.key}: match_fn must be one of ${Object.keys(MATCHERS).join(', ')}`);
  const kw = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, unknown>) : {});
  return {
    template: new ModelGradedClassify({
      spec,
      specArgs: kw(args.modelgraded_spec_args),
      matchFn,
      metaeval: args.metaeval === true,
      sampleMaxTokens: Number(kw(args.sample_kwargs).max_tokens ?? 1024),
      graderMaxTokens: Number(kw(args.eval_kwargs).max_tokens ?? 1024),
    }),
    samples: samplesFromArgs(args, env),
  };
}
