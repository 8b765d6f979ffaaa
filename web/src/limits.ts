// The plan's limits as the page shows them. The server enforces them; the page only reflects
// them: a meter from GET /app/api/usage, and on a 429 a banner that names the limit and the reset
// time and keeps the composer disabled until then (then it asks the server again).
import type { UsageInfo } from '../../src/app/contract.ts';
import { type ApiError, api } from './api.ts';
import { capBlock, usage } from './state.ts';

let recheck: ReturnType<typeof setTimeout> | undefined;

function blockUntil(message: string, until: Date | null): void {
  capBlock.value = { message, until };
  clearTimeout(recheck);
  const wait = until ? Math.max(1000, until.getTime() - Date.now() + 500) : 60_000;
  recheck = setTimeout(() => void refreshUsage(true), Math.min(wait, 2 ** 31 - 1));
}

/**
 * Takes fresh usage numbers. Only a refusal (429) blocks the composer: the meter says when the cap
 * is used up, and the server decides. A block lifts when a re-check after its time finds room.
 */
export function applyUsage(u: UsageInfo, fromRecheck = false): void {
  usage.value = u;
  const block = capBlock.value;
  if (!block) return;
  const cap = u.cap;
  if (cap && cap.remaining <= 0 && cap.resetsAt && new Date(cap.resetsAt).getTime() > Date.now()) {
    if (fromRecheck) blockUntil(block.message, new Date(cap.resetsAt));
  } else if (fromRecheck || !block.until || block.until.getTime() <= Date.now()) {
    capBlock.value = null;
  }
}

export async function refreshUsage(fromRecheck = false): Promise<void> {
  try {
    applyUsage(await api.usage(), fromRecheck);
  } catch {
    if (fromRecheck) capBlock.value = null; // let the server decide on the next send
  }
}

/** A 429: the message cap (code usage_cap_exceeded) or a rate limit (Retry-After). */
export async function blockForLimit(err: ApiError): Promise<void> {
  let until: Date | null = err.retryAfter ? new Date(Date.now() + err.retryAfter * 1000) : null;
  try {
    const u = await api.usage();
    usage.value = u;
    if (u.cap && u.cap.remaining <= 0 && u.cap.resetsAt) until = new Date(u.cap.resetsAt);
  } catch {
    // Keep what the response said.
  }
  blockUntil(err.message, until);
}
