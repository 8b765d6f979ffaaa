// The eval registry, laid out as openai/evals lays it out, read from several roots:
//
//   <root>/evals/*.yaml           name: {id: name.split.version, metrics?, description?}
//                                 name.split.version: {class: module:Class, args: {...}}
//   <root>/eval_sets/*.yaml       set: {evals: [name, glob*, ...]}
//   <root>/completion_fns/*.yaml  name: {class, args}
//   <root>/modelgraded/*.yaml     spec: {prompt, choice_strings, choice_scores, input_outputs, eval_type}
//   <root>/data/**.jsonl          samples, found relative to data/
//
// Roots, in order: the built-in ones (src/evals/core-registry, then src/evals/builtin-registry),
// ~/.tetra/evals (or $TETRA_HOME/evals), then each --registry DIR. Every name lives in exactly
// one file across all roots: a second definition is an error naming both files, never a silent
// override (openai/evals also refuses duplicates).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { tetraHome } from '../util/index.ts';
import { readYamlFile } from './yaml.ts';

export class RegistryError extends Error {}

export type Category = 'evals' | 'eval_sets' | 'completion_fns' | 'modelgraded';
const CATEGORIES: Category[] = ['evals', 'eval_sets', 'completion_fns', 'modelgraded'];

interface Entry {
  name: string;
  spec: Record<string, unknown>;
  file: string;
  root: string;
}

/** A resolved eval: its class and arguments, where it was defined, and openai/evals' name parts. */
export interface EvalSpec {
  /** The name asked for (may be an alias such as "arith"). */
  name: string;
  /** The full "base.split.version" key the alias points to. */
  key: string;
  base: string;
  split: string;
  cls: string;
  args: Record<string, unknown>;
  /** Declared metrics (first = primary), from the alias entry. */
  metrics: string[];
  description?: string;
  file: string;
  root: string;
}

export interface ClassSpec {
  name: string;
  cls: string;
  args: Record<string, unknown>;
  file: string;
  root: string;
}

/** The built-in roots that exist, then ~/.tetra/evals when present, then the given dirs. */
export function defaultRoots(extra: readonly string[] = []): string[] {
  const here = dirname(new URL(import.meta.url).pathname);
  const roots = [join(here, 'core-registry'), join(here, 'builtin-registry')].filter((d) => existsSync(d));
  const user = join(tetraHome(), 'evals');
  if (existsSync(user)) roots.push(user);
  for (const d of extra) {
    const p = resolve(d);
    if (!existsSync(p) || !statSync(p).isDirectory()) throw new RegistryError(`--registry ${d}: no such directory`);
    roots.push(p);
  }
  return roots;
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

export class Registry {
  private readonly entries: Record<Category, Map<string, Entry>> = {
    evals: new Map(),
    eval_sets: new Map(),
    completion_fns: new Map(),
    modelgraded: new Map(),
  };

  constructor(readonly roots: string[]) {
    for (const root of roots) {
      for (const cat of CATEGORIES) {
        for (const file of yamlFiles(join(root, cat))) {
          const doc = readYamlFile(file);
          if (doc === null) continue;
          if (typeof doc !== 'object' || Array.isArray(doc))
            throw new RegistryError(`${file}: a registry file must be a mapping of name -> spec`);
          for (const [name, spec] of Object.entries(doc as Record<string, unknown>)) {
            const prev = this.entries[cat].get(name);
            if (prev) throw new RegistryError(`${cat} name "${name}" is defined twice: in ${prev.file} and in ${file}`);
            if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
              throw new RegistryError(`${file}: "${name}" must map to a mapping, got ${JSON.stringify(spec)}`);
            for (const reserved of ['key', 'group', 'cls']) {
              if (reserved in (spec as object)) throw new RegistryError(`${file}: "${name}" uses the reserved field "${reserved}"`);
            }
            this.entries[cat].set(name, { name, spec: spec as Record<string, unknown>, file, root });
          }
        }
      }
    }
  }

  static open(extraRoots: readonly string[] = []): Registry {
    return new Registry(defaultRoots(extraRoots));
  }

  names(cat: Category): string[] {
    return [...this.entries[cat].keys()].sort();
  }
  has(cat: Category, name: string): boolean {
    return this.entries[cat].has(name);
  }

  private suggest(cat: Category, name: string): string {
    const all = this.names(cat);
    const close = all.filter((n) => n.startsWith(name.split('.')[0]) || n.includes(name)).slice(0, 5);
    return close.length
      ? ` (did you mean ${close.join(', ')}?)`
      : all.length
        ? ` (${all.length} ${cat} are registered; see tetra eval list)`
        : '';
  }

  /** Follows "id" aliases (openai/evals' dereference) to the entry with a class. */
  eval(name: string): EvalSpec {
    let e = this.entries.evals.get(name);
    if (!e) throw new RegistryError(`no eval named "${name}" in ${this.roots.length} registry roots${this.suggest('evals', name)}`);
    const alias = e;
    for (let hops = 0; typeof e.spec.id === 'string'; hops++) {
      if (hops > 8) throw new RegistryError(`${alias.file}: eval "${name}" has an alias loop through "${e.spec.id}"`);
      const target = this.entries.evals.get(e.spec.id as string);
      if (!target) throw new RegistryError(`${e.file}: eval "${e.name}" points to id "${e.spec.id}", which no registry file defines`);
      e = target;
    }
    const cls = e.spec.class;
    if (typeof cls !== 'string')
      throw new RegistryError(`${e.file}: eval "${e.name}" has no "class" (expected e.g. class: evals.elsuite.basic.match:Match)`);
    const args = (e.spec.args ?? {}) as Record<string, unknown>;
    if (typeof args !== 'object' || Array.isArray(args)) throw new RegistryError(`${e.file}: eval "${e.name}": args must be a mapping`);
    const parts = e.name.split('.');
    const metrics = (alias.spec.metrics ?? e.spec.metrics ?? []) as string[];
    return {
      name,
      key: e.name,
      base: parts[0],
      split: parts[1] ?? '',
      cls,
      args: { ...args },
      metrics: Array.isArray(metrics) ? metrics : [String(metrics)],
      description: (alias.spec.description ?? e.spec.description) as string | undefined,
      file: e.file,
      root: e.root,
    };
  }

  /** The eval names of a set, globs ("coqa-*") expanded against registered names. */
  evalSet(name: string): string[] {
    const e = this.entries.eval_sets.get(name);
    if (!e) throw new RegistryError(`no eval set named "${name}"${this.suggest('eval_sets', name)}`);
    const list = e.spec.evals;
    if (!Array.isArray(list)) throw new RegistryError(`${e.file}: eval set "${name}" needs evals: [names]`);
    const out: string[] = [];
    for (const pat of list.map(String)) {
      if (!/[*?]/.test(pat)) {
        if (!this.has('evals', pat))
          throw new RegistryError(`${e.file}: eval set "${name}" lists "${pat}", which no registry file defines`);
        out.push(pat);
        continue;
      }
      const re = new RegExp(
        '^' +
          pat
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.') +
          '$',
      );
      const hits = this.names('evals').filter((n) => re.test(n) && !this.entries.evals.get(n)!.spec.class);
      if (!hits.length) throw new RegistryError(`${e.file}: eval set "${name}": pattern "${pat}" matches no eval`);
      out.push(...hits);
    }
    return [...new Set(out)];
  }

  completionFn(name: string): ClassSpec | undefined {
    const e = this.entries.completion_fns.get(name);
    if (!e) return undefined;
    if (typeof e.spec.class !== 'string') throw new RegistryError(`${e.file}: completion function "${name}" has no "class"`);
    return { name, cls: e.spec.class, args: (e.spec.args ?? {}) as Record<string, unknown>, file: e.file, root: e.root };
  }

  modelgraded(name: string): { spec: Record<string, unknown>; file: string } {
    const e = this.entries.modelgraded.get(name);
    if (!e) throw new RegistryError(`no model-graded spec named "${name}"${this.suggest('modelgraded', name)}`);
    return { spec: e.spec, file: e.file };
  }

  /**
   * A data file named relative to data/: looked up first in the root that defined the eval, then
   * in the other roots; absolute paths are taken as they are.
   */
  dataPath(path: string, preferRoot?: string): string {
    if (isAbsolute(path)) {
      if (!existsSync(path)) throw new RegistryError(`data file ${path} does not exist`);
      return path;
    }
    const order = preferRoot ? [preferRoot, ...this.roots.filter((r) => r !== preferRoot)] : this.roots;
    const tried = order.map((r) => join(r, 'data', path));
    const hit = tried.find((p) => existsSync(p));
    if (!hit)
      throw new RegistryError(`data file "${path}" not found; looked in ${tried.map((p) => relative(process.cwd(), p) || p).join(', ')}`);
    return hit;
  }
}
