// Preference pairs for DPO, in OpenAI's preference fine-tuning format: one JSON object per line,
//   {"input": {"messages": [...]}, "preferred_output": [{"role": "assistant", "content": "..."}],
//    "non_preferred_output": [{"role": "assistant", "content": "..."}]}
// The input is a conversation up to the turn being judged (system / user / assistant messages,
// checked as SFT's are); the two outputs are the better and the worse answer to it. As with
// conversations, any bad line is an error naming the file and line, before training starts.
//
// Each side renders as one row (conversations.ts): the prompt and the answer, with only the
// answer's tokens (and its closing <|end|>) as targets, so a row's summed log-probability is the
// log-probability of the answer given the prompt.
import { readFileSync } from 'node:fs';
import type { ChatMessage, Tokenizer } from '../tokenizer/index.ts';
import { ConversationError, conversationRow, parseMessages, type ConversationRow } from './conversations.ts';

export interface PreferencePair {
  /** file:line */
  source: string;
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
}

export interface PairRows {
  source: string;
  chosen: ConversationRow;
  rejected: ConversationRow;
}

function output(x: unknown, field: string, where: string): string {
  const at = `${where}: ${field}`;
  if (!Array.isArray(x) || x.length !== 1) throw new ConversationError(`${at} must be a list of one assistant message`);
  const m = x[0] as { role?: unknown; content?: unknown };
  if (m?.role !== 'assistant') throw new ConversationError(`${at}[0].role must be "assistant", got ${JSON.stringify(m?.role)}`);
  // parseMessages joins text parts into one string and refuses an empty assistant turn.
  return parseMessages([m], `${at}[0]`).messages[0].content as string;
}

function parsePair(line: string, where: string): PreferencePair {
  let obj: { input?: { messages?: unknown }; preferred_output?: unknown; non_preferred_output?: unknown };
  try {
    obj = JSON.parse(line);
  } catch (e) {
    throw new ConversationError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const messages = obj?.input?.messages;
  if (!Array.isArray(messages) || !messages.length)
    throw new ConversationError(
      `${where}: expected {"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}`,
    );
  const prompt = parseMessages(messages, `${where}: input`).messages;
  if (prompt[prompt.length - 1].role === 'assistant')
    throw new ConversationError(`${where}: input.messages ends with an assistant turn; it should end where the judged answer starts`);
  const chosen = output(obj.preferred_output, 'preferred_output', where);
  const rejected = output(obj.non_preferred_output, 'non_preferred_output', where);
  if (chosen === rejected) throw new ConversationError(`${where}: preferred_output and non_preferred_output are the same answer`);
  return { source: where, prompt, chosen, rejected };
}

/** Every pair of a JSONL file, checked; the first bad line is an error naming it. */
export function readPreferencePairs(file: string): PreferencePair[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConversationError(`${file}: cannot read (${(e as Error).message})`);
  }
  const out: PreferencePair[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') out.push(parsePair(line, `${file}:${i + 1}`));
  });
  if (!out.length) throw new ConversationError(`${file}: no preference pairs`);
  return out;
}

/** The pair as one JSONL line of OpenAI's format. */
export function preferenceLine(p: Omit<PreferencePair, 'source'>): string {
  return JSON.stringify({
    input: { messages: p.prompt },
    preferred_output: [{ role: 'assistant', content: p.chosen }],
    non_preferred_output: [{ role: 'assistant', content: p.rejected }],
  });
}

/** The pair's two rows: the prompt's own assistant turns are context, only the judged answer is a target. */
export function pairRows(tok: Tokenizer, p: PreferencePair, contextLength: number): PairRows {
  const untrained = p.prompt.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
  const row = (answer: string) =>
    conversationRow(tok, { source: p.source, messages: [...p.prompt, { role: 'assistant', content: answer }], untrained }, contextLength);
  return { source: p.source, chosen: row(p.chosen), rejected: row(p.rejected) };
}
