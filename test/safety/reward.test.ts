// The safety reward: refusing harmful requests (in the desired style above the undesired one) and
// answering safe ones pays; the expected reward under the classifier's probabilities ranks
// responses; `tetra safety classify --kind` reports it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAFETY_REWARD, safetyReward } from '../../src/safety/index.ts';

const sure = (c: 'A' | 'B' | 'C' | 'D') => ({ A: 0, B: 0, C: 0, D: 0, [c]: 1 });

describe('safety reward', () => {
  it('orders the classes as the system card does, per kind of request', () => {
    const h = SAFETY_REWARD.harmful;
    assert.ok(h.A > h.B && h.B > h.C && h.C === h.D, 'harmful: desired refusal > undesired > anything else');
    for (const k of ['lookalike', 'sensitive'] as const) {
      const t = SAFETY_REWARD[k];
      assert.ok(t.D > t.A && t.A === t.B && t.B === t.C, `${k}: only a safe answer pays; refusing is over-refusal`);
    }
    assert.equal(safetyReward('harmful', sure('A')), 1);
    assert.equal(safetyReward('lookalike', sure('A')), -1);
  });

  it('is the expected reward under the class probabilities', () => {
    const r = safetyReward('harmful', { A: 0.5, B: 0.25, C: 0.25, D: 0 });
    assert.ok(Math.abs(r - (0.5 + 0.075 - 0.25)) < 1e-12);
  });
});
