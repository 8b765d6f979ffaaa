// Registry YAML, read with the `yaml` package the way openai/evals' PyYAML safe_load reads it where a
// registry can tell: anchors, aliases and << merge keys resolve, and a key repeated inside an entry
// takes its last value (openai/evals' own modelgraded/keywords.yaml repeats one; refusing it would
// refuse that whole registry). The YAML 1.2 core schema keeps yes/no/on/off strings, where PyYAML's
// 1.1 rules would turn a grader's choice string Yes into True and break its choice_scores.
// Refused, each as file:line: reason: a name repeated at the top level (PyYAML would keep the last;
// the registry refuses a name defined twice across files too), a second document (a registry file
// is one mapping; reading only the first, or merging, would hide entries), tags and collection keys
// (safe_load refuses them too), self-referencing anchors, alias bombs, aliases too slow to resolve,
// and huge files.
import { readFileSync, statSync } from 'node:fs';
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  type Node,
  parseAllDocuments,
  visit,
} from 'yaml';

export class YamlError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

/**
 * Uses of one anchor, times the aliases nested in it (the `yaml` package's measure): a registry
 * sharing one base among thousands of evals fits; a "billion laughs" file passes it within a few levels.
 */
export const MAX_ALIAS_COUNT = 10_000;
/**
 * Steps the `yaml` package may take to resolve aliases: each alias scans the anchors and aliases
 * before it, and the first use of an anchor that holds aliases walks the whole document once per
 * alias held. Past this, a file of a few hundred kB could take minutes; at it, a few seconds. A
 * thousand evals merging one base take a tenth of it.
 */
export const MAX_ALIAS_WORK = 20_000_000;
/** The largest registry file in openai/evals is 15 kB; parsing 4 MiB takes seconds, not minutes. */
export const MAX_YAML_BYTES = 4 * 2 ** 20;

/** Reads a registry file, refusing a huge one before reading it. */
export function readYamlFile(path: string): unknown {
  const size = statSync(path).size;
  if (size > MAX_YAML_BYTES) throw tooBig(path, size);
  return parseYaml(readFileSync(path, 'utf8'), path);
}

const tooBig = (file: string, size: number) =>
  new YamlError(file, 1, `${size} bytes; a registry file may hold at most ${MAX_YAML_BYTES} (refused as a possible resource attack)`);

type Fail = (node: { range?: [number, number, number] | null }, reason: string) => YamlError;

export function parseYaml(text: string, file = '<yaml>'): unknown {
  if (text.length > MAX_YAML_BYTES) throw tooBig(file, text.length);
  const lines = new LineCounter();
  const lineAt = (offset: number) => lines.linePos(offset).line;
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, merge: true, logLevel: 'error' });
  if (!Array.isArray(docs)) return null; // no document at all: an empty file adds no entries
  for (const d of docs) {
    const e = d.errors[0] ?? d.warnings[0];
    if (!e) continue;
    const reason =
      e.code === 'RESOURCE_EXHAUSTION'
        ? `nested too deeply (${e.message})`
        : e.code === 'TAG_RESOLVE_FAILED'
          ? `${e.message}: registry files hold plain data, and openai/evals' safe_load refuses tags too`
          : e.message;
    throw new YamlError(file, lineAt(e.pos[0]), reason);
  }
  // A document holding nothing (a trailing --- or ~) adds no entries, so it is no second document.
  const real = docs.filter((d) => !(d.contents === null || (isScalar(d.contents) && d.contents.value === null)));
  if (real.length > 1)
    throw new YamlError(file, lineAt(real[1].range[0]), 'only one YAML document per registry file (a second one starts here)');
  if (!real.length) return null;
  const doc = real[0];
  const fail: Fail = (node, reason) => new YamlError(file, lineAt(node.range?.[0] ?? 0), reason);
  let firstAlias: Node | undefined;
  try {
    firstAlias = checkStructure(doc, fail);
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /excessive alias count/i.test(e.message) && firstAlias) {
      throw fail(firstAlias, `aliases from here on expand past ${MAX_ALIAS_COUNT} uses of one anchor: refused as a possible alias bomb`);
    }
    if (e instanceof RangeError) throw new YamlError(file, 1, `nested too deeply (${e.message})`);
    throw e;
  }
}

/**
 * Walks the document once, in the order the `yaml` package resolves aliases (the latest anchor of that
 * name before the alias), so the errors toJS would throw without a position get a line here. Returns
 * the first alias, the line an alias bomb is reported at.
 */
function checkStructure(doc: Document, fail: Fail): Node | undefined {
  const anchors = new Map<string, Node>();
  let firstAlias: Node | undefined;
  let nodes = 0;
  let aliases = 0;
  let anchored = 0;
  let aliasesInAnchors = 0;
  visit(doc, (_key, node, path) => {
    nodes++;
    if (isAlias(node)) {
      aliases++;
      if (path.some((p) => isNode(p) && p.anchor)) aliasesInAnchors++;
      const target = anchors.get(node.source);
      if (!target) throw fail(node, `alias *${node.source} has no anchor &${node.source} before it`);
      if (path.includes(target)) throw fail(node, `alias *${node.source} is inside its own anchor: a recursive structure`);
      firstAlias ??= node;
    } else if (isPair(node)) {
      if (isCollection(node.key)) throw fail(node.key, 'a mapping key must be a plain value, not a list or a mapping');
    } else if ((isScalar(node) || isCollection(node)) && node.anchor) {
      anchors.set(node.anchor, node);
      anchored++;
    }
  });
  if (firstAlias && aliases * (aliases + anchored) + aliasesInAnchors * nodes > MAX_ALIAS_WORK) {
    throw fail(firstAlias, `${aliases} aliases in ${nodes} nodes would take too long to resolve: refused as a possible resource attack`);
  }
  if (isMap(doc.contents)) {
    const seen = new Set<string>();
    for (const { key } of doc.contents.items) {
      if (!isScalar(key) || typeof key.value === 'symbol') continue; // a << merge key
      const name = String(key.value);
      if (seen.has(name)) throw fail(key, `"${name}" is defined twice in this file (top-level names must be unique)`);
      seen.add(name);
    }
  }
  return firstAlias;
}
