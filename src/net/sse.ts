// Server-sent events, as far as OpenAI-compatible streams use them: the data of each event, in
// order. Events end at a blank line in any of the three line-ending styles (\n, \r\n, \r); an
// event's data lines are joined by newlines; comments (":"), event:, id: and retry: lines are
// skipped, and so is an event without data. Bytes may arrive split anywhere, even inside a UTF-8
// sequence or between the \r and \n of a line ending.

export class SseReader {
  private readonly decoder = new TextDecoder('utf-8'); // drops a leading BOM, as the SSE spec asks
  private buf = '';

  /** Adds the next bytes of the stream. */
  push(bytes: Uint8Array): void {
    this.buf += this.decoder.decode(bytes, { stream: true });
  }

  /** The data of the next complete event, or null until more bytes arrive. */
  next(): string | null {
    for (let cut = eventEnd(this.buf); cut; cut = eventEnd(this.buf)) {
      const event = this.buf.slice(0, cut[0]);
      this.buf = this.buf.slice(cut[1]);
      const data = eventData(event);
      if (data !== null) return data;
    }
    return null;
  }
}

/** [end of the event, start of the next] for the first complete event in buf (\n\n, \r\n\r\n or \r\r), or null. */
function eventEnd(buf: string): [number, number] | null {
  let end = buf.indexOf('\n\n'),
    next = end + 2;
  const crlf = buf.indexOf('\r\n\r\n');
  if (crlf >= 0 && (end < 0 || crlf < end)) {
    end = crlf;
    next = crlf + 4;
  }
  // Lone CRs. A \r\r\n (a CR line end, then a CRLF blank line) leaves a \n that reads as an empty line of the next event.
  const cr = buf.indexOf('\r\r');
  if (cr >= 0 && (end < 0 || cr < end)) {
    end = cr;
    next = cr + 2;
  }
  return end < 0 ? null : [end, next];
}

/** An event's data lines joined by newlines, or null when it has none. */
function eventData(event: string): string | null {
  // the usual one-line event, without splitting
  if (event.startsWith('data: ') && event.indexOf('\n') < 0 && event.indexOf('\r') < 0) return event.slice(6);
  let data: string | null = null;
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data')) continue; // comments (:), event:, id:, retry:
    const value = line.length > 4 && line[4] === ':' ? line.slice(line[5] === ' ' ? 6 : 5) : line === 'data' ? '' : null;
    if (value === null) continue; // "database: ..." is a field named database, not data
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}
