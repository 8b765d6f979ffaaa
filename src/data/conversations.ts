// Conversations for supervised fine-tuning, in OpenAI's fine-tuning format: one JSON object per
// line, {"messages": [{"role": "system" | "user" | "assistant", "content": ..., "weight"?: 0 | 1}]}.
// Content is a string or text parts ([{"type": "text", "text": ...}]). Every problem is reported
// with the file and line, and a file with any bad line is refused whole, before training starts.
//
// Rendering (src/tokenizer/chat.ts) gives the token ids and the loss mask: the model learns the
// assistant's content and its closing <|end|>, nothing else; an assistant message with weight 0
// (OpenAI's way to keep a turn as context only) is not learned either. A row is the rendered
// conversation shifted by one: inputs ids[0..n-2], targets ids[1..n-1] where the mask is set
// and -1 (ignored) elsewhere.
import { readFileSync } from 'node:fs';
import { renderConversation, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';
import { fnv1a32 } from './hash.ts';

export class ConversationError extends Error {}

export interface ConversationRow {
  /** Where it came from: file:line. */
  source: string;
  inputs: Int32Array;
  targets: Int32Array;
  /** Targets that are learned (not -1). */
  tokens: number;
  /** Images (a vision model's rows): pixels back to back, each one's first slot among inputs. */
  images?: { pixels: Float32Array; at: number[] };
}

export interface Conversation {
  source: string;
  messages: ChatMessage[];
  /** Indices of assistant messages with weight 0. */
  untrained: number[];
}

const ROLES = new Set(['system', 'user', 'assistant']);

function parseLine(line: string, where: string): Conversation {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    throw new ConversationError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const messages = (obj as { messages?: unknown })?.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    throw new ConversationError(`${where}: expected {"messages": [...]} with at least one message`);
  const c = parseMessages(messages, where);
  if (!c.messages.some((m, i) => m.role === 'assistant' && !c.untrained.includes(i)))
    throw new ConversationError(`${where}: no assistant message to learn from`);
  return c;
}

/**
 * A message list in OpenAI's format, checked (roles, text content, weights, no empty assistant
 * turn); `where` names the line in errors. Also the prompt of a preference pair (preferences.ts).
 */
export function parseMessages(messages: unknown[], where: string): Conversation {
  const out: ChatMessage[] = [];
  const untrained: number[] = [];
  messages.forEach((m: unknown, i: number) => {
    const at = `${where}: messages[${i}]`;
    const { role, content, weight } = (m ?? {}) as { role?: unknown; content?: unknown; weight?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role))
      throw new ConversationError(`${at}.role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
    let text: string;
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content)) {
      text = content
        .map((p: { type?: unknown; text?: unknown }, j: number) => {
          if (p?.type === 'text' && typeof p.text === 'string') return p.text;
          if (p?.type === 'image_url')
            throw new ConversationError(`${at}.content[${j}]: image parts need a model that sees images; this one reads text only`);
          throw new ConversationError(`${at}.content[${j}]: expected {"type": "text", "text": "..."}`);
        })
        .join('');
    } else throw new ConversationError(`${at}.content must be a string or an array of text parts`);
    if (weight !== undefined && weight !== 0 && weight !== 1) throw new ConversationError(`${at}.weight must be 0 or 1, got ${weight}`);
    if (weight !== undefined && role !== 'assistant') throw new ConversationError(`${at}.weight is allowed on assistant messages only`);
    if (role === 'assistant' && text.trim() === '') throw new ConversationError(`${at}: empty assistant turn`);
    if (weight === 0) untrained.push(i);
    out.push({ role: role as ChatMessage['role'], content: text });
  });
  return { source: where, messages: out, untrained };
}

/** Every conversation of a JSONL file, checked; the first bad line is an error naming it. */
export function readConversations(file: string): Conversation[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConversationError(`${file}: cannot read (${(e as Error).message})`);
  }
  const out: Conversation[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') out.push(parseLine(line, `${file}:${i + 1}`));
  });
  if (!out.length) throw new ConversationError(`${file}: no conversations`);
  return out;
}

/**
 * One conversation as a training row; longer than the context is an error naming its line.
 * vision: a model with image input; each image part then carries its decoded `pixels`
 * (imageValues floats) and renders as imageSlots slot tokens.
 */
export function conversationRow(
  tok: Tokenizer,
  c: Conversation,
  contextLength: number,
  vision?: { imageSlots: number; imageValues: number },
): ConversationRow {
  const opts = vision ? { imageSlots: vision.imageSlots } : {};
  const r = renderConversation(tok, c.messages, opts);
  const mask = r.mask;
  for (const i of c.untrained) {
    // Rendering is a concatenation, so a message's span lies between two prefixes' lengths.
    const from = renderConversation(tok, c.messages.slice(0, i), opts).ids.length;
    const to = renderConversation(tok, c.messages.slice(0, i + 1), opts).ids.length;
    mask.fill(0, from, to);
  }
  let images: ConversationRow['images'];
  if (r.imagePositions.length) {
    if (!vision) throw new ConversationError(`${c.source}: image parts need a model that sees images; this one reads text only`);
    const parts = c.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content.filter((p) => p.type === 'image')));
    const pixels = new Float32Array(parts.length * vision.imageValues);
    parts.forEach((p, i) => {
      const px = (p as { pixels?: Float32Array }).pixels;
      if (!(px instanceof Float32Array) || px.length !== vision.imageValues)
        throw new ConversationError(`${c.source}: image ${i + 1} is not decoded to ${vision.imageValues} values`);
      pixels.set(px, i * vision.imageValues);
    });
    images = { pixels, at: r.imagePositions };
  }
  const n = r.ids.length - 1;
  if (n > contextLength)
    throw new ConversationError(`${c.source}: the conversation needs ${n} tokens; the model's context holds ${contextLength}`);
  const inputs = Int32Array.from(r.ids.slice(0, n));
  const targets = new Int32Array(n).fill(-1);
  let tokens = 0;
  for (let t = 0; t < n; t++)
    if (mask[t + 1]) {
      targets[t] = r.ids[t + 1];
      tokens++;
    }
  return { source: c.source, inputs, targets, tokens, ...(images ? { images } : {}) };
}

/** Held out for validation when no validation file is given: a fixed share, by a hash of the conversation. */
export function isHeldOut(messages: ChatMessage[], fraction: number): boolean {
  return fnv1a32(`sft\u0000${JSON.stringify(messages)}`) / 2 ** 32 < fraction;
}
