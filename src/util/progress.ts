// Progress for long stages: on a TTY one line rewritten in place with rate and ETA; otherwise
// (logs, CI) a plain line at most every `everyMs`.
export class Progress {
  private readonly t0 = Date.now();
  private last = Date.now(); // the first line comes after one interval, not at 0%
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly out: NodeJS.WriteStream | null = process.stderr,
    private readonly everyMs = 10_000,
  ) {}

  update(done: number, extra = ''): void {
    if (!this.out) return;
    const now = Date.now();
    const tty = this.out.isTTY === true;
    if (now - this.last < (tty ? 200 : this.everyMs) && done < this.total) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    const rate = done / Math.max(s, 1e-3);
    const eta = rate > 0 && this.total > 0 ? Math.max(0, (this.total - done) / rate) : 0;
    const pct = this.total > 0 ? ` ${((100 * done) / this.total).toFixed(1)}%` : '';
    const line =
      `${this.label}: ${done}/${this.total} ${this.unit}${pct}, ${fmtRate(rate)} ${this.unit}/s, elapsed ${fmtTime(s)}, ` +
      `ETA ${fmtTime(eta)}${extra ? `, ${extra}` : ''}`;
    if (tty) this.out.write(`\r\x1b[K${line}`);
    else this.out.write(`${line}\n`);
  }

  done(extra = ''): void {
    if (!this.out) return;
    const s = (Date.now() - this.t0) / 1000;
    if (this.out.isTTY) this.out.write('\r\x1b[K');
    this.out.write(`${this.label}: done in ${fmtTime(s)}${extra ? `, ${extra}` : ''}\n`);
  }
}

const fmtRate = (r: number): string => (r >= 1e6 ? `${(r / 1e6).toFixed(1)}M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(1));
function fmtTime(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
