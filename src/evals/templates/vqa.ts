// Visual question answering (issue 15): each sample is an image and a question in one user turn
// (OpenAI content parts: image_url as a data URL, then text), answered greedily; correct when the
// reply equals the ideal answer after trimming, lowercasing and dropping a final period. Metrics:
// accuracy, and accuracy/<type> per question type (colour, kind, count, exist, relation, caption, side).
// Samples: {"input": [{"role": "user", "content": [...]}], "ideal": "red", "type": "colour"}.
import { samplesFromArgs, type TemplateFactory } from '../classes.ts';
import { accuracyMetrics } from '../metrics.ts';
import type { EvalTemplate, Metrics, Sample, SampleContext, SampleResult } from '../types.ts';
import { normalise } from '../vqa.ts';
import { candidate, sampleCompletion } from './sampling.ts';

interface VqaSample extends Sample {
  type: string;
}

export class VqaEval implements EvalTemplate<VqaSample> {
  constructor(private readonly maxTokens: number) {}

  async evalSample(s: VqaSample, ctx: SampleContext): Promise<SampleResult> {
    if (typeof s.input === 'string' || typeof s.ideal !== 'string' || typeof s.type !== 'string')
      throw new Error(`sample ${ctx.sampleId}: needs chat messages as input, one ideal answer and a question type`);
    const sampled = await sampleCompletion(candidate(ctx), s.input, { temperature: 0, maxTokens: this.maxTokens }, ctx);
    const correct = normalise(sampled) === normalise(s.ideal);
    ctx.recorder.record({ type: 'match', sampleId: ctx.sampleId, data: { correct, expected: s.ideal, sampled, type: s.type } });
    return { sampleId: ctx.sampleId, correct, type: s.type };
  }

  aggregate(results: SampleResult[]): Metrics {
    const m: Metrics = accuracyMetrics(results.map((r) => r.correct === true));
    for (const t of [...new Set(results.map((r) => String(r.type)))].sort()) {
      const rs = results.filter((r) => r.type === t);
      m[`accuracy/${t}`] = rs.filter((r) => r.correct === true).length / rs.length;
    }
    return m;
  }
}

export const vqaFactory: TemplateFactory = (args, env) => {
  const maxTokens = Number(args.max_tokens ?? 160);
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new Error(`${env.file}: ${env.key}: max_tokens must be a positive integer, got ${args.max_tokens}`);
  return { template: new VqaEval(maxTokens), samples: samplesFromArgs(args, env) as () => VqaSample[] };
};
