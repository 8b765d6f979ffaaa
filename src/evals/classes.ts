// What a registry "class:" resolves to: the factory contract that every template family and custom
// eval implements, so the runner and the class table need know nothing of any one of them. Named
// classes are in class-table.ts, custom evals ("./my-eval.ts:MyEval") in custom-eval.ts.
import type { Registry } from './registry.ts';
import { loadSamples } from './samples.ts';
import type { EvalTemplate, Sample } from './types.ts';

export class UnknownClassError extends Error {}

/** What a factory gets besides the entry's args. */
export interface TemplateEnv {
  registry: Registry;
  /** The eval's "base.split.version" key and its parts. */
  key: string;
  base: string;
  split: string;
  /** The YAML file that defined the eval and the root it is in (data paths resolve there first). */
  file: string;
  root: string;
}

/** A template and the samples it runs over. */
export interface EvalInstance {
  template: EvalTemplate;
  samples(): Promise<Sample[]> | Sample[];
}

export type TemplateFactory = (args: Record<string, unknown>, env: TemplateEnv) => EvalInstance | Promise<EvalInstance>;

/** samples_jsonl from the entry's args, resolved against the registry's data/ folders. */
export function samplesFromArgs(args: Record<string, unknown>, env: TemplateEnv): () => Sample[] {
  return () => {
    const rel = args.samples_jsonl;
    if (typeof rel !== 'string')
      throw new UnknownClassError(`${env.file}: eval "${env.key}" needs args.samples_jsonl (a path under data/)`);
    return loadSamples(env.registry.dataPath(rel, env.root));
  };
}
