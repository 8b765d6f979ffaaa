// What a registry "class:" resolves to: the factory contract every template family implements,
// samples from an entry's args, and custom evals written in TypeScript ("path/to/file.ts:Export").
// The table of named classes (tetra's and openai/evals' paths) is class-table.ts.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

/** A "file.ts:Export" class: the factory of a custom eval in TypeScript, or null when cls is not of that form. */
export async function customEvalFactory(cls: string, env: Pick<TemplateEnv, 'file'>): Promise<TemplateFactory | null> {
  const m = /^(.+\.(?:ts|mts|js|mjs)):([A-Za-z_$][\w$]*)$/.exec(cls);
  if (!m) return null;
  const path = isAbsolute(m[1]) ? m[1] : resolve(dirname(env.file), m[1]);
  if (!existsSync(path)) throw new UnknownClassError(`${env.file}: class "${cls}": no file ${path}`);
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const exp = mod[m[2]];
  if (typeof exp !== 'function') throw new UnknownClassError(`${env.file}: class "${cls}": ${path} exports no class or function "${m[2]}"`);
  return customFactory(exp as CustomEvalExport);
}

/** A custom eval export: a class (constructed with args and env) or a function returning the template. */
export type CustomEvalExport =
  | (new (
      args: Record<string, unknown>,
      env: TemplateEnv,
    ) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] })
  | ((args: Record<string, unknown>, env: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] });

function customFactory(exp: CustomEvalExport): TemplateFactory {
  return (args, env) => {
    const t = /^class\s/.test(Function.prototype.toString.call(exp))
      ? new (exp as new (a: Record<string, unknown>, e: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] })(
          args,
          env,
        )
      : (exp as (a: Record<string, unknown>, e: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] })(args, env);
    if (typeof t?.evalSample !== 'function' || typeof t?.aggregate !== 'function') {
      throw new UnknownClassError(
        `${env.file}: custom eval for "${env.key}" must implement evalSample(sample, ctx) and aggregate(results)`,
      );
    }
    return { template: t, samples: t.samples ? () => t.samples!() : samplesFromArgs(args, env) };
  };
}
