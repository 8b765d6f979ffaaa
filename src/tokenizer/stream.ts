// Streaming decode: tokens arrive one at a time (sampling), and a token may end in the middle of a
// multi-byte character (cl100k splits many emoji and CJK characters across tokens). Decoding each
// token on its own would print U+FFFD for both halves; instead the incomplete tail of a character
// is held back until the bytes that complete it arrive. Bytes that can never complete (truly
// invalid UTF-8) still come out as U+FFFD, at once, as a whole-string decode would give them.
import type { Tokenizer } from './tokenizer.ts';

export class StreamDecoder {
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Text completed by these ids (possibly ''). */
  push(ids: number | ArrayLike<number>): string {
    const list = typeof ids === 'number' ? [ids] : ids;
    return this.utf8.decode(this.tokenizer.decodeBytes(list), { stream: true });
  }

  /** End of stream: whatever is held back (an unfinished character becomes U+FFFD). */
  flush(): string {
    return this.utf8.decode();
  }
}
