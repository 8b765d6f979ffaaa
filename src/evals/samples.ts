// Samples: openai/evals JSONL lines {"input": chat | string, "ideal": string | string[]}, and
// the prompt handling every template shares (few-shot insertion, chat <-> text, formatting).
import { readFileSync } from 'node:fs';
import { textOf, type EvalMessage, type Sample } from './types.ts';

export class SampleError extends Error {}

const ROLES = new Set(['system', 'user', 'assistant', 'developer']);

/** Reads a JSONL file; a bad line is an error naming file:line, blank lines are skipped. */
export function readJsonl<T = unknown>(path: string): T[] {
  const out: T[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    try {
      out.push(JSON.parse(l) as T);
    } catch (e) {
      throw new SampleError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  }
  return out;
}

/** Checks the openai/evals sample shape: input a string or chat messages; ideal a string or strings when present. */
export function checkSample(s: unknown, where: string): Sample {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw new SampleError(`${where}: a sample must be a JSON object`);
  const o = s as Sample;
  if (typeof o.input !== 'string' && !Array.isArray(o.input))
    throw new SampleError(`${where}: "input" must be a string or a list of chat messages`);
  if (Array.isArray(o.input)) {
    // Content is text, or OpenAI content parts: {type: text, text} and {type: image_url, image_url: {url}}.
    const part = (p: unknown) => {
      const x = p as { type?: unknown; text?: unknown; image_url?: { url?: unknown } };
      return (x?.type === 'text' && typeof x.text === 'string') || (x?.type === 'image_url' && typeof x.image_url?.url === 'string');
    };
    o.input.forEach((m, k) => {
      const c = (m as EvalMessage)?.content;
      if (
        !m ||
        typeof m !== 'object' ||
        !ROLES.has((m as EvalMessage).role) ||
        !(typeof c === 'string' || (Array.isArray(c) && c.every(part)))
      ) {
        throw new SampleError(
          `${where}: input[${k}] must be {role: system|user|assistant, content: string or text/image_url parts}, got ` +
            `${JSON.stringify(m).slice(0, 80)}`,
        );
      }
    });
  }
  if (o.ideal !== undefined && typeof o.ideal !== 'string' && !(Array.isArray(o.ideal) && o.ideal.every((x) => typeof x === 'string'))) {
    throw new SampleError(`${where}: "ideal" must be a string or a list of strings`);
  }
  return o;
}

export function loadSamples(path: string): Sample[] {
  return readJsonl(path).map((s, i) => checkSample(s, `${path} sample ${i + 1}`));
}

export const idealList = (ideal: Sample['ideal']): string[] => (ideal === undefined ? [] : Array.isArray(ideal) ? ideal : [ideal]);

/** Few-shot lines {"sample": [messages]} flattened into one message list (the first n lines). */
export function loadFewShot(path: string, n: number): EvalMessage[] {
  const lines = readJsonl<{ sample?: EvalMessage[] }>(path);
  if (lines.length < n) throw new SampleError(`${path}: num_few_shot is ${n} but the file has ${lines.length} lines`);
  return lines.slice(0, n).flatMap((l, i) => {
    if (!Array.isArray(l.sample)) throw new SampleError(`${path}:${i + 1}: a few-shot line must be {"sample": [messages]}`);
    return l.sample;
  });
}

/** Inserts few-shot messages before the last message of a chat (openai/evals' Match does the same). */
export function withFewShot(input: Sample['input'], fewShot: EvalMessage[]): Sample['input'] {
  if (!fewShot.length) return input;
  if (typeof input === 'string') throw new SampleError('few-shot examples need chat samples (input as a list of messages)');
  return [...input.slice(0, -1), ...fewShot, ...input.slice(-1)];
}

/**
 * A chat as plain text, for completion-style backends and grader prompts: one "role: content"
 * line per message, examples shown under their example role; a single user message is just its text.
 */
export function chatToText(input: Sample['input']): string {
  if (typeof input === 'string') return input;
  if (input.length === 1 && input[0].role === 'user') return textOf(input[0].content);
  return input.map((m) => `${m.name?.startsWith('example_') ? m.name.slice(8) : m.role}: ${textOf(m.content)}`).join('\n');
}

/**
 * Python str.format-style filling: {key} from vars, {{ and }} for literal braces. Only the
 * template's own braces are interpreted, so sample text full of braces needs no escaping.
 * A {key} with no value is an error naming it.
 */
export function formatTemplate(template: string, vars: Record<string, unknown>, what = 'prompt'): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      out += '{';
      i++;
      continue;
    }
    if (c === '}' && template[i + 1] === '}') {
      out += '}';
      i++;
      continue;
    }
    if (c === '{') {
      const end = template.indexOf('}', i);
      const key = end < 0 ? '' : template.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        out += c;
        continue;
      }
      if (!(key in vars) || vars[key] === undefined)
        throw new SampleError(`${what} uses {${key}}, but the sample has no "${key}" (it has ${Object.keys(vars).join(', ')})`);
      const v = vars[key];
      out +=
        typeof v === 'string'
          ? v
          : Array.isArray(v) && v.every((m) => m && typeof m === 'object' && 'content' in m)
            ? chatToText(v as EvalMessage[])
            : JSON.stringify(v);
      i = end;
      continue;
    }
    out += c;
  }
  return out;
}
