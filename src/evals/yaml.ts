// Reading registry YAML with the `yaml` package: all of YAML 1.2, so the anchors, aliases and
// merge keys that real openai/evals registries and users' own files contain are read, not refused.
// The core schema keeps "yes", "no", "on" and "off" strings (PyYAML's 1.1 rules would make them
// booleans, turning a grader's choice string Yes into True and breaking its choice_scores).
// Errors carry file:line. Multi-document streams are refused: a registry file is one mapping,
// and a second document would be silently ignored by some readers and merged by others.
import { parseAllDocuments, YAMLError } from 'yaml';

export class YamlError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

/** Alias expansions allowed in one file: enough for any registry, far too few for a "billion laughs" bomb. */
const MAX_ALIAS_COUNT = 1000;

export function parseYaml(text: string, file = '<yaml>'): unknown {
  const lineOf = (pos: number) => text.slice(0, Math.max(0, pos)).split('\n').length;
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, merge: true });
  if (!Array.isArray(docs)) return null; // an empty stream
  const errorOf = (e: YAMLError) =>
    new YamlError(file, e.linePos?.[0]?.line ?? lineOf(e.pos[0]), e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ''));
  for (const d of docs) if (d.errors.length) throw errorOf(d.errors[0]);
  const real = docs.filter((d) => d.contents !== null || docs.length === 1);
  if (real.length > 1)
    throw new YamlError(file, lineOf(real[1].range[0]), 'only one YAML document per registry file (found a second one after ---)');
  if (!real.length) return null;
  try {
    return real[0].toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof YAMLError || /alias/i.test((e as Error).message)) {
      throw new YamlError(
        file,
        1,
        `${(e as Error).message} (aliases expand to more than ${MAX_ALIAS_COUNT} nodes: refused as a possible alias bomb)`,
      );
    }
    throw e;
  }
}
