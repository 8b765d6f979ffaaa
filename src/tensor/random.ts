// Seedable randomness for everything in tetra that must repeat exactly: mulberry32 (one 32-bit
// word of state; small and fast, good enough for shuffles, sampling and test data, not for
// cryptography), and an Rng on top of it whose whole state can be saved in a checkpoint.

/** mulberry32: uniforms in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 with Box-Muller normals, whose state (s, spare) can be saved and restored. */
export class Rng {
  private s: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1): one mulberry32 step on the saved state. */
  next(): number {
    const u = mulberry32(this.s)();
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    return u;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  state(): { s: number; spare: number | null } {
    return { s: this.s, spare: this.spare };
  }
  static from(state: { s: number; spare: number | null }): Rng {
    const r = new Rng(0);
    r.s = state.s >>> 0;
    r.spare = state.spare;
    return r;
  }
}
