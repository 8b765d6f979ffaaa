// The plan's limits: a meter in the header ("N of M messages left, resets at HH:MM") and, once a
// limit is hit, a banner that names it and says when sending works again.
import { capBlock, usage } from '../state.ts';
import { clockTime } from '../util.ts';

export function UsageMeter() {
  const cap = usage.value?.cap;
  if (!cap) return null;
  const low = cap.remaining <= Math.max(1, Math.floor(cap.limit * 0.2));
  const text = `${cap.remaining} of ${cap.limit} messages left${cap.resetsAt ? `, resets at ${clockTime(cap.resetsAt)}` : ''}`;
  return (
    <p class={low ? 'usage low' : 'usage'} title={`${usage.value?.plan.name} plan`}>
      {text}
    </p>
  );
}

/** " (in about 40 seconds)" for a wait under two minutes, else "". */
function soon(until: Date): string {
  const s = Math.round((until.getTime() - Date.now()) / 1000);
  return s > 0 && s < 120 ? ` (in about ${s} seconds)` : '';
}

export function CapBanner() {
  const block = capBlock.value;
  if (!block) return null;
  return (
    <div class="cap-banner" role="alert">
      <strong>Limit reached.</strong> {block.message}{' '}
      {block.until ? `You can send again at ${clockTime(block.until)}${soon(block.until)}.` : 'Try again in a minute.'}
    </div>
  );
}
