// Which code a registry "class:" names. openai/evals' Python class paths for the basic and
// model-graded templates map to tetra's templates, so their YAML runs unchanged; tetra's own
// names (tetra.match, ...) work too; and "path/to/file.ts:Export" loads a custom eval written in
// TypeScript (see src/evals/custom.ts). Other template families register themselves here.
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

const factories = new Map<string, TemplateFactory>();

/** Registers a factory under one or more class names (tetra's and openai/evals' paths). */
export function registerTemplateClass(names: readonly string[], factory: TemplateFactory): void {
  for (const n of names) factories.set(n, factory);
}

export function knownTemplateClasses(): string[] { return [...factories.keys()].sort(); }

/** samples_jsonl from the entry's args, resolved against the registry's data/ folders. */
export function samplesFromArgs(args: Record<string, unknown>, env: TemplateEnv): () => Sample[] {
  return () => {
    const rel = args.samples_jsonl;
    if (typeof rel !== 'string') throw new UnknownClassError(`${env.file}: eval "${env.key}" needs args.samples_jsonl (a path under data/)`);
    return loadSamples(env.registry.dataPath(rel, env.root));
  };
}

/** Resolves a class name to a factory: registered names, then "file.ts:Export" custom evals. */
export async function templateFactory(cls: string, env: Pick<TemplateEnv, 'file'>): Promise<TemplateFactory> {
  const f = factories.get(cls);
  if (f) return f;
  const m = /^(.+\.(?:ts|mts|js|mjs)):([A-Za-z_$][\w$]*)$/.exec(cls);
  if (m) {
    const path = isAbsolute(m[1]) ? m[1] : resolve(dirname(env.file), m[1]);
    if (!existsSync(path)) throw new UnknownClassError(`${env.file}: class "${cls}": no file ${path}`);
    const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    const exp = mod[m[2]];
    if (typeof exp !== 'function') throw new UnknownClassError(`${env.file}: class "${cls}": ${path} exports no class or function "${m[2]}"`);
    return customFactory(exp as CustomEvalExport);
  }
  throw new UnknownClassError(
    `${env.file}: unknown eval class "${cls}". Known classes: ${knownTemplateClasses().join(', ')}; ` +
    'or name a TypeScript file and export, e.g. class: ./my-eval.ts:MyEval',
  );
}

/** A custom eval export: a class (constructed with args and env) or a function returning the template. */
export type CustomEvalExport =
  | (new (args: Record<string, unknown>, env: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] })
  | ((args: Record<string, unknown>, env: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] });

function customFactory(exp: CustomEvalExport): TemplateFactory {
  return (args, env) => {
    const t = /^class\s/.test(Function.prototype.toString.call(exp))
      ? new (exp as new (a: Record<string, unknown>, e: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] })(args, env)
      : (exp as (a: Record<string, unknown>, e: TemplateEnv) => EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] })(args, env);
    if (typeof t?.evalSample !== 'function' || typeof t?.aggregate !== 'function') {
      throw new UnknownClassError(`${env.file}: custom eval for "${env.key}" must implement evalSample(sample, ctx) and aggregate(results)`);
    }
    return { template: t, samples: t.samples ? () => t.samples!() : samplesFromArgs(args, env) };
  };
}
