// The chat format: one renderer turns a conversation into token ids, for training (with a loss
// mask) and for inference (the prompt up to the assistant's turn).
//
//   <|bos|> <|system|> text <|end|> <|user|> text <|image_start|> <|image_slot|> x S ... <|end|>
//           <|assistant|> text <|end|> ...
//
// Loss mask (aligned with ids; 1 = the model is trained to produce this token): only an
// assistant's content and its closing <|end|> (so the model learns to stop). Role markers, system
// and user text, and image slots are 0. Image slots are placeholders: the model overwrites their
// embeddings with projected image patches (Fuyu-style), so there is nothing to predict there.
//
// Truncation policy when a maxTokens budget is given (explicit, tested):
// 1. <|bos|> and system messages are always kept.
// 2. Whole turns (a user message and the assistant replies that follow it) are dropped, oldest
//    first, while over budget and more than one turn remains; the conversation then resumes at
//    a user message, never mid-exchange.
// 3. Still over budget: a training render is cut at maxTokens from the end (never inside an
//    image: the cut moves back to before its <|image_start|>), with truncated = true; a prompt
//    render throws ContextOverflowError, because a prompt cut at the end would lose the question.
import type { Tokenizer } from './tokenizer.ts';

export type ChatRole = 'system' | 'user' | 'assistant';
export type ChatPart = { type: 'text'; text: string } | { type: 'image'; [k: string]: unknown };
export interface ChatMessage {
  role: ChatRole;
  content: string | ChatPart[];
}

export interface RenderOptions {
  /** Image-slot tokens per image (the number of patch embeddings the model inserts). */
  imageSlots?: number;
  /** Token budget; see the truncation policy above. */
  maxTokens?: number;
}

export interface Rendered {
  ids: number[];
  /** 1 where the token is a training target (assistant content and its <|end|>); all 0 in a prompt. */
  mask: Uint8Array;
  /** Index in ids of the first slot of each image, in message order. */
  imagePositions: number[];
  /** Messages removed by the truncation policy (oldest turns). */
  droppedMessages: number;
  /** True when the training render was also cut at the end. */
  truncated: boolean;
}

export class ContextOverflowError extends Error {
  constructor(
    readonly needed: number,
    readonly limit: number,
  ) {
    super(`conversation needs ${needed} tokens after dropping old turns; the context holds ${limit}`);
  }
}

export const DEFAULT_IMAGE_SLOTS = 16;

interface Block {
  ids: number[];
  mask: number[];
  images: number[];
  role: ChatRole;
}

function renderMessage(tok: Tokenizer, m: ChatMessage, slots: number): Block {
  if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') {
    throw new Error(`message role must be system, user or assistant, got ${JSON.stringify(m.role)}`);
  }
  const train = m.role === 'assistant' ? 1 : 0;
  const ids = [tok.special(`<|${m.role}|>`)];
  const mask = [0];
  const images: number[] = [];
  const parts: ChatPart[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
  for (const p of parts) {
    if (p.type === 'text') {
      const before = ids.length;
      tok.encodeInto((p as { text: string }).text, ids);
      for (let i = before; i < ids.length; i++) mask.push(train);
    } else if (p.type === 'image') {
      if (m.role !== 'user') throw new Error(`image parts are allowed in user messages only, found one in a ${m.role} message`);
      ids.push(tok.special('<|image_start|>'));
      mask.push(0);
      images.push(ids.length);
      const slot = tok.special('<|image_slot|>');
      for (let i = 0; i < slots; i++) {
        ids.push(slot);
        mask.push(0);
      }
    } else {
      throw new Error(`content part type must be "text" or "image", got ${JSON.stringify((p as { type: unknown }).type)}`);
    }
  }
  ids.push(tok.special('<|end|>'));
  mask.push(train);
  return { ids, mask, images, role: m.role };
}

/** Groups non-system blocks into turns: a user block and the assistant blocks after it. */
function turns(blocks: Block[]): Block[][] {
  const out: Block[][] = [];
  for (const b of blocks) {
    if (b.role === 'user' || out.length === 0) out.push([b]);
    else out[out.length - 1].push(b);
  }
  return out;
}

function render(tok: Tokenizer, messages: readonly ChatMessage[], opts: RenderOptions, prompt: boolean): Rendered {
  const slots = opts.imageSlots ?? DEFAULT_IMAGE_SLOTS;
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`imageSlots must be a positive integer, got ${slots}`);
  const blocks = messages.map((m) => renderMessage(tok, m, slots));
  const pinned = blocks.filter((b) => b.role === 'system');
  const rest = turns(blocks.filter((b) => b.role !== 'system'));
  const tail = prompt ? 1 : 0; // <|assistant|> opening the reply
  const size = () => 1 + tail + [...pinned, ...rest.flat()].reduce((s, b) => s + b.ids.length, 0);
  let droppedMessages = 0;
  const limit = opts.maxTokens;
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`maxTokens must be a positive integer, got ${limit}`);
    while (size() > limit && rest.length > 1) droppedMessages += rest.shift()!.length;
  }
  // Kept blocks in their original order (system messages stay where they were).
  const kept = new Set([...pinned, ...rest.flat()]);
  const ids = [tok.special('<|bos|>')];
  const mask = [0];
  const imagePositions: number[] = [];
  for (const b of blocks) {
    if (!kept.has(b)) continue;
    for (const at of b.images) imagePositions.push(ids.length + at);
    ids.push(...b.ids);
    mask.push(...b.mask);
  }
  if (prompt) {
    ids.push(tok.special('<|assistant|>'));
    mask.fill(0);
    mask.push(0);
  } // inference: nothing to train on
  let truncated = false;
  if (limit !== undefined && ids.length > limit) {
    if (prompt) throw new ContextOverflowError(ids.length, limit);
    let cut = limit;
    // An image spans [at - 1, at + slots): its <|image_start|> and slots. Never keep part of one.
    for (const at of imagePositions) if (at <= limit && at + slots > limit) cut = at - 1;
    while (imagePositions.length && imagePositions[imagePositions.length - 1] >= cut) imagePositions.pop();
    ids.length = cut;
    mask.length = cut;
    truncated = true;
  }
  return { ids, mask: Uint8Array.from(mask), imagePositions, droppedMessages, truncated };
}

/** Training render: the whole conversation with its loss mask. */
export function renderConversation(tok: Tokenizer, messages: readonly ChatMessage[], opts: RenderOptions = {}): Rendered {
  return render(tok, messages, opts, false);
}

/** Inference render: the conversation followed by <|assistant|>, ready for the model to continue. */
export function renderPrompt(tok: Tokenizer, messages: readonly ChatMessage[], opts: RenderOptions = {}): Rendered {
  return render(tok, messages, opts, true);
}
