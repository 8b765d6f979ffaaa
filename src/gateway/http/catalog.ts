// The model catalog: which model ids exist, which engine serves each, and what each promises
// (context window, image input, prices). Two kinds of entry:
//   snapshot  a pinned id (tetra-2026-11-28) bound to an engine; it never changes behaviour
//   alias     a moving name (tetra) that points at a snapshot; re-pointing it is a config edit
// Responses always name the snapshot, so a client can tell what actually served it. Two
// snapshots may share one engine with different windows (an 8k and a 32k variant of one model).
//
// Config (JSON, snake_case like the OpenAI API; the full file is documented in README "API"):
//   {"engines": {"NAME": {"kind": "builtin", "checkpoint": DIR} | {"kind": "llamacpp", "gguf": FILE}
//                        | {"kind": "upstream", "url": URL, "key"?: KEY, "model"?: NAME,
//                           "connect_timeout_ms"?, "first_byte_timeout_ms"?, "idle_timeout_ms"?}},
//    "models": [{"id", "engine", "context_window"?, "image_input"?, "prices"?: {"prompt", "completion"},
//                "deprecation_date"?: "YYYY-MM-DD", "owned_by"?, "created"?} | {"id", "alias"}],
//    "default_model"?: ID}
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface EngineSpec {
  kind: string;
  /** Everything else in the engine's config object (paths already resolved against the config file). */
  [k: string]: unknown;
}

export interface Snapshot {
  id: string;
  engine: string;
  /** undefined = whatever the engine reports. */
  contextWindow?: number;
  imageInput: boolean;
  /** USD per 1,000 tokens. */
  prices: { prompt: number; completion: number };
  deprecationDate: string | null;
  ownedBy: string;
  created: number;
}

export interface Alias {
  id: string;
  alias: string;
}

export interface CatalogConfig {
  engines: Record<string, EngineSpec>;
  snapshots: Snapshot[];
  aliases: Alias[];
  defaultModel: string | null;
  /** The whole parsed file, for sections other parts own (keys, plans). */
  raw: Record<string, unknown>;
}

export class CatalogError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A snapshot's date as Unix seconds, from its name's end (tetra-1-2026-12-06, or a point release tetra-1-2026-12-06.2); else 0. */
function snapshotDate(id: string): number {
  const m = /(\d{4}-\d{2}-\d{2})(\.\d+)?$/.exec(id);
  const t = m ? Date.parse(m[1]) : Number.NaN;
  return Number.isNaN(t) ? 0 : t / 1000;
}

/** Validates a parsed catalog file; `where` names the file in errors; paths resolve against baseDir. */
export function parseCatalog(raw: unknown, where: string, baseDir = process.cwd()): CatalogConfig {
  const fail = (path: string, msg: string): never => {
    throw new CatalogError(`${where}: ${path} ${msg}`);
  };
  if (!isObject(raw)) fail('(top level)', 'must be a JSON object with "engines" and "models"');
  const r = raw as Record<string, unknown>;
  const engines: Record<string, EngineSpec> = {};
  if (!isObject(r.engines)) fail('engines', 'must be an object mapping engine names to {"kind": ...}');
  for (const [name, spec] of Object.entries(r.engines as Record<string, unknown>)) {
    if (!isObject(spec) || typeof spec.kind !== 'string')
      fail(`engines.${name}`, 'must be an object with "kind": "builtin", "llamacpp" or "upstream"');
    const s = { ...(spec as EngineSpec) };
    for (const k of ['checkpoint', 'gguf']) if (typeof s[k] === 'string') s[k] = resolve(baseDir, s[k] as string);
    engines[name] = s;
  }
  if (!Array.isArray(r.models) || r.models.length === 0) fail('models', 'must be a non-empty array of model entries');
  const snapshots: Snapshot[] = [],
    aliases: Alias[] = [];
  const ids = new Set<string>();
  (r.models as unknown[]).forEach((m, i) => {
    const p = `models[${i}]`;
    if (!isObject(m)) return fail(p, 'must be an object');
    if (typeof m.id !== 'string' || !/^[A-Za-z0-9._:/-]{1,128}$/.test(m.id))
      fail(`${p}.id`, `must be 1-128 characters of letters, digits and . _ : / -, got ${JSON.stringify(m.id)}`);
    const id = m.id as string;
    if (ids.has(id)) fail(`${p}.id`, `"${id}" is listed twice`);
    ids.add(id);
    if (m.alias !== undefined) {
      if (typeof m.alias !== 'string') fail(`${p}.alias`, 'must be the id of a snapshot');
      for (const k of Object.keys(m))
        if (k !== 'id' && k !== 'alias') fail(`${p}.${k}`, `is not allowed on an alias ("${id}" takes everything from its snapshot)`);
      aliases.push({ id, alias: m.alias as string });
      return;
    }
    if (typeof m.engine !== 'string' || !engines[m.engine])
      fail(
        `${p}.engine`,
        `must name an engine from "engines" (${Object.keys(engines).join(', ') || 'none defined'}), got ${JSON.stringify(m.engine)}`,
      );
    const cw = m.context_window;
    if (cw !== undefined && !(Number.isInteger(cw) && (cw as number) >= 1 && (cw as number) <= 1 << 24))
      fail(`${p}.context_window`, `must be an integer in [1, ${1 << 24}], got ${JSON.stringify(cw)}`);
    if (m.image_input !== undefined && typeof m.image_input !== 'boolean') fail(`${p}.image_input`, 'must be true or false');
    const prices = m.prices ?? { prompt: 0, completion: 0 };
    if (!isObject(prices) || ['prompt', 'completion'].some((k) => typeof prices[k] !== 'number' || !((prices[k] as number) >= 0))) {
      fail(`${p}.prices`, 'must be {"prompt": USD per 1k tokens, "completion": USD per 1k tokens}, both >= 0');
    }
    const dep = m.deprecation_date ?? null;
    if (dep !== null && (typeof dep !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dep) || Number.isNaN(Date.parse(dep))))
      fail(`${p}.deprecation_date`, `must be a date YYYY-MM-DD or null, got ${JSON.stringify(dep)}`);
    if (m.owned_by !== undefined && typeof m.owned_by !== 'string') fail(`${p}.owned_by`, 'must be a string');
    if (m.created !== undefined && !Number.isInteger(m.created)) fail(`${p}.created`, 'must be a Unix time in seconds');
    const pr = prices as { prompt: number; completion: number };
    snapshots.push({
      id,
      engine: m.engine as string,
      ...(cw === undefined ? {} : { contextWindow: cw as number }),
      imageInput: (m.image_input as boolean | undefined) ?? false,
      prices: { prompt: pr.prompt, completion: pr.completion },
      deprecationDate: dep as string | null,
      ownedBy: (m.owned_by as string | undefined) ?? 'tetra',
      created: (m.created as number | undefined) ?? snapshotDate(id),
    });
  });
  aliases.forEach((a) => {
    if (!snapshots.some((s) => s.id === a.alias))
      fail(
        `models (alias "${a.id}")`,
        `points at "${a.alias}", which is not a snapshot in this file (aliases point at snapshots, not at other aliases)`,
      );
  });
  const def = r.default_model ?? null;
  if (def !== null && (typeof def !== 'string' || !ids.has(def)))
    fail('default_model', `must be one of the model ids, got ${JSON.stringify(def)}`);
  return { engines, snapshots, aliases, defaultModel: def as string | null, raw: r };
}

export function loadCatalogFile(path: string): CatalogConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CatalogError(`cannot read the config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CatalogError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseCatalog(raw, path, dirname(resolve(path)));
}

export interface Resolved {
  requested: string;
  snapshot: Snapshot;
}

export class Catalog {
  private readonly byId = new Map<string, Snapshot>();
  private readonly aliasOf = new Map<string, string>();

  constructor(readonly config: CatalogConfig) {
    for (const s of config.snapshots) this.byId.set(s.id, s);
    for (const a of config.aliases) this.aliasOf.set(a.id, a.alias);
  }

  /** The snapshot an id (snapshot or alias) serves with; undefined when unknown. */
  resolve(id: string): Resolved | undefined {
    const snap = this.byId.get(this.aliasOf.get(id) ?? id);
    return snap && { requested: id, snapshot: snap };
  }

  /** Every id with what it resolves to, snapshots first, in file order. */
  entries(): { id: string; snapshot: Snapshot; alias: boolean }[] {
    return [
      ...this.config.snapshots.map((s) => ({ id: s.id, snapshot: s, alias: false })),
      ...this.config.aliases.map((a) => ({ id: a.id, snapshot: this.byId.get(a.alias)!, alias: true })),
    ];
  }
}
