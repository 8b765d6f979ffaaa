// UTF-8 helpers written for the encoder's hot path: encoding into a reused buffer (TextEncoder
// allocates a fresh Uint8Array per call, which dominated small-piece encoding), and splitting a
// byte string into valid UTF-8 runs and invalid bytes so that any byte string can be encoded.

/**
 * Writes the UTF-8 of s[from, to) into buf at 0 and returns the byte count, or -1 when buf is too
 * small (callers grow it to 3 bytes per UTF-16 unit and retry). Lone surrogates become U+FFFD, as
 * TextEncoder does, so counts match js-tiktoken's.
 */
export function utf8Into(s: string, from: number, to: number, buf: Uint8Array): number {
  let n = 0;
  const cap = buf.length;
  for (let i = from; i < to; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (n >= cap) return -1;
      buf[n++] = c;
      continue;
    }
    if (c < 0x800) {
      if (n + 2 > cap) return -1;
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 63);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < to ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        if (n + 4 > cap) return -1;
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[n++] = 0xf0 | (cp >> 18);
        buf[n++] = 0x80 | ((cp >> 12) & 63);
        buf[n++] = 0x80 | ((cp >> 6) & 63);
        buf[n++] = 0x80 | (cp & 63);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    if (n + 3 > cap) return -1;
    buf[n++] = 0xe0 | (c >> 12);
    buf[n++] = 0x80 | ((c >> 6) & 63);
    buf[n++] = 0x80 | (c & 63);
  }
  return n;
}

/** Length of the valid UTF-8 sequence starting at bytes[i], or 0 if bytes[i] does not start one. */
export function utf8SeqLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let need: number, min: number;
  if (b >= 0xc2 && b <= 0xdf) {
    need = 1;
    min = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    min = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    min = 0x10000;
  } else return 0;
  if (i + need >= bytes.length) return 0; // truncated at the end
  let cp = b & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 63);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
}

/** Splits bytes into alternating runs: {valid: true} runs decode losslessly; the others do not. */
export function utf8Runs(bytes: Uint8Array): { start: number; end: number; valid: boolean }[] {
  const runs: { start: number; end: number; valid: boolean }[] = [];
  let i = 0;
  while (i < bytes.length) {
    const start = i;
    const valid = utf8SeqLength(bytes, i) > 0;
    while (i < bytes.length) {
      const n = utf8SeqLength(bytes, i);
      if (n > 0 !== valid) break;
      i += n > 0 ? n : 1;
    }
    runs.push({ start, end: i, valid });
  }
  return runs;
}
