// Reads a text/event-stream body. One streaming TextDecoder for the whole body (a multi-byte
// character split across chunks is completed by the next chunk, never replaced by U+FFFD) and a
// line buffer (a `data:` line split across chunks waits for its end). Calls onData once per event
// with its data lines joined by '\n'.
export async function readSse(body: ReadableStream<Uint8Array>, onData: (data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];

  const line = (raw: string) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text === '') {
      if (data.length) onData(data.join('\n'));
      data = [];
      return;
    }
    if (text.startsWith(':')) return; // comment / keep-alive
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
  };

  const drain = () => {
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      line(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
    }
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      drain();
    }
    buffer += decoder.decode();
    drain();
    if (buffer) line(buffer);
    line(''); // dispatch an event the body ended without a blank line after
  } finally {
    reader.releaseLock();
  }
}
