// Custom evals written in TypeScript: a registry entry's "class: ./my-eval.ts:MyEval" names a file
// (relative to the YAML that names it) and an export, so users extend tetra without editing the
// class table. Only consulted for classes the table does not name (class-table.ts).
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { samplesFromArgs, type TemplateEnv, type TemplateFactory, UnknownClassError } from './classes.ts';
import type { EvalTemplate, Sample } from './types.ts';

/** What a custom eval builds: a template that may bring its own samples instead of args.samples_jsonl. */
export type CustomTemplate = EvalTemplate & { samples?(): Promise<Sample[]> | Sample[] };

/** A custom eval export: a class (constructed with args and env) or a function returning the template. */
export type CustomEvalExport =
  | (new (
      args: Record<string, unknown>,
      env: TemplateEnv,
    ) => CustomTemplate)
  | ((args: Record<string, unknown>, env: TemplateEnv) => CustomTemplate);

/** The factory of a "file.ts:Export" class, or null when cls is not of that form. */
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

function customFactory(exp: CustomEvalExport): TemplateFactory {
  // A class throws when called without new, and a plain function need not be constructible.
  const isClass = /^class\s/.test(Function.prototype.toString.call(exp));
  return (args, env) => {
    const t = isClass
      ? new (exp as new (a: Record<string, unknown>, e: TemplateEnv) => CustomTemplate)(args, env)
      : (exp as (a: Record<string, unknown>, e: TemplateEnv) => CustomTemplate)(args, env);
    if (typeof t?.evalSample !== 'function' || typeof t?.aggregate !== 'function') {
      throw new UnknownClassError(
        `${env.file}: custom eval for "${env.key}" must implement evalSample(sample, ctx) and aggregate(results)`,
      );
    }
    return { template: t, samples: t.samples ? () => t.samples!() : samplesFromArgs(args, env) };
  };
}
