// `tetra generate`: stream a continuation of a prompt from a checkpoint to the terminal.
import { resolve } from 'node:path';
import { generateStream, openCheckpoint } from '../model/index.ts';
import { defaultBackend } from '../tensor/index.ts';
import { StreamDecoder } from '../tokenizer/index.ts';
import { findCheckpoint } from '../model/index.ts';
import { numberFlag, UsageError } from './args.ts';
import type { Command } from './command.ts';

/** A checkpoint directory, or a run directory whose newest checkpoint is meant. */
export function resolveCheckpoint(path: string): string {
  const dir = findCheckpoint(path);
  if (!dir) throw new UsageError(`tetra generate: ${resolve(path)} is neither a checkpoint nor a run directory with checkpoints`);
  return dir;
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'stream a continuation of --prompt from a checkpoint',
  usage: 'tetra generate --checkpoint DIR --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]',
  flags: {
    checkpoint: { type: 'string', help: 'checkpoint directory (or a run directory: its newest checkpoint)' },
    prompt: { type: 'string', help: 'text to continue', default: '' },
    'max-tokens': { type: 'number', help: 'tokens to generate', default: 200 },
    temperature: { type: 'number', help: '0 = greedy', default: 0.8 },
    'top-k': { type: 'number', help: 'keep the k most likely tokens (0 = off)', default: 40 },
    'top-p': { type: 'number', help: 'nucleus sampling threshold (1 = off)', default: 1 },
    seed: { type: 'number', help: 'sampling seed', default: 1 },
  },
  async run(f) {
    const cmd = 'tetra generate';
    if (!f.checkpoint) throw new UsageError(`${cmd}: --checkpoint DIR is required`);
    const { model, tok } = await openCheckpoint(resolveCheckpoint(String(f.checkpoint)));
    // Pretraining documents are separated by <|endoftext|>, so a prompt starts after one.
    const eot = tok.special('<|endoftext|>');
    const prompt = Int32Array.from([eot, ...tok.encode(String(f.prompt))]);
    const out = new StreamDecoder(tok);
    const it = generateStream(model, defaultBackend(), [prompt], {
      maxTokens: numberFlag(f, 'max-tokens', 0, model.config.contextLength, cmd),
      temperature: numberFlag(f, 'temperature', 0, 100, cmd, false),
      topK: numberFlag(f, 'top-k', 0, 1 << 20, cmd),
      topP: numberFlag(f, 'top-p', 1e-6, 1, cmd, false),
      seed: numberFlag(f, 'seed', 0, 2 ** 31, cmd),
      stopTokens: [eot],
    });
    process.stdout.write(String(f.prompt));
    for (let r = it.next(); !r.done; r = it.next()) process.stdout.write(out.push(r.value.token));
    process.stdout.write(out.flush() + '\n');
    return 0;
  },
};
