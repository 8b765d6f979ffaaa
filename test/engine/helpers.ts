// Shared by the engine tests: a complete ChatRequest with test defaults, and event collection.
import type { ChatRequest, EngineEvent } from '../../src/engine/index.ts';

export function chatRequest(over: Partial<ChatRequest> = {}): ChatRequest {
  return {
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say something.' },
    ],
    maxTokens: 12,
    temperature: 0,
    topP: 1,
    n: 1,
    stop: [],
    presencePenalty: 0,
    frequencyPenalty: 0,
    logitBias: {},
    topLogprobs: null,
    responseFormat: { type: 'text' },
    ...over,
  };
}

export async function collect(it: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** The generated (not echoed) text of one choice. */
export const textOf = (evs: EngineEvent[], index = 0) =>
  evs
    .filter((e) => e.type === 'text' && e.index === index && !e.echo)
    .map((e) => (e as { text: string }).text)
    .join('');
