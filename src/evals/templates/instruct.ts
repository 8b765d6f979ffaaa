// System-message steerability (GPT-4 report: the system message sets the style and the task):
// each sample is a question under a system message of one instruction style (src/data/synthetic/
// instructions.ts), answered greedily, and graded twice:
//   adherence  the reply has the form the system message asks for (followsStyle: one word,
//              capitals, JSON {"answer": ...}, French, the message reversed, a bare number),
//              over the samples that have a system message; per style as adherence/<style>
//   accuracy   the reply is the ideal answer exactly (trimmed): task accuracy, for the alignment
//              tax between checkpoints
// Samples: {"input": [...], "ideal": "...", "style": "<style>"}.
import { samplesFromArgs, type TemplateFactory } from '../classes.ts';
import { accuracyMetrics, meanWithCI } from '../metrics.ts';
import type { EvalTemplate, Metrics, Sample, SampleContext, SampleResult } from '../types.ts';
import { followsStyle, STYLES, type InstructionStyle } from '../../data/index.ts';
import { candidate, sampleCompletion } from './sampling.ts';

interface InstructSample extends Sample {
  style: InstructionStyle;
}

export class InstructEval implements EvalTemplate<InstructSample> {
  constructor(private readonly maxTokens: number) {}

  async evalSample(s: InstructSample, ctx: SampleContext): Promise<SampleResult> {
    if (!(STYLES as readonly string[]).includes(s.style))
      throw new Error(`sample ${ctx.sampleId}: style must be one of ${STYLES.join(', ')}, got ${JSON.stringify(s.style)}`);
    if (typeof s.input === 'string' || typeof s.ideal !== 'string')
      throw new Error(`sample ${ctx.sampleId}: needs chat messages as input and one ideal answer`);
    const user = String([...s.input].reverse().find((m) => m.role === 'user')?.content ?? '');
    const sampled = await sampleCompletion(candidate(ctx), s.input, { temperature: 0, maxTokens: this.maxTokens }, ctx);
    const adheres = followsStyle(s.style, user, sampled);
    const correct = sampled.trim() === s.ideal.trim();
    ctx.recorder.record({ type: 'match', sampleId: ctx.sampleId, data: { correct, expected: s.ideal, sampled, style: s.style, adheres } });
    // adherence per sample (absent without a system message), so `tetra eval compare` can pair it.
    return { sampleId: ctx.sampleId, correct, style: s.style, ...(s.style === 'plain' ? {} : { adherence: adheres ? 1 : 0 }) };
  }

  aggregate(results: SampleResult[]): Metrics {
    const steered = results.filter((r) => r.style !== 'plain');
    const m: Metrics = {
      ...accuracyMetrics(results.map((r) => r.correct === true)),
      ...meanWithCI(
        'adherence',
        steered.map((r) => Number(r.adherence)),
      ),
    };
    for (const style of STYLES.filter((x) => x !== 'plain')) {
      const rs = steered.filter((r) => r.style === style);
      if (rs.length) m[`adherence/${style}`] = rs.filter((r) => r.adherence === 1).length / rs.length;
    }
    return m;
  }
}

export const instructFactory: TemplateFactory = (args, env) => {
  const maxTokens = Number(args.max_tokens ?? 48);
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new Error(`${env.file}: ${env.key}: max_tokens must be a positive integer, got ${args.max_tokens}`);
  return { template: new InstructEval(maxTokens), samples: samplesFromArgs(args, env) as () => InstructSample[] };
};
