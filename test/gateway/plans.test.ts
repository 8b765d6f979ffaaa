import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GovernanceError } from '../../src/gateway/governance/contract.ts';
import {
  checkImageInput,
  checkModel,
  DEFAULT_PLAN,
  getPlan,
  loadPlans,
  parsePlans,
  PlanConfigError,
  costUsd,
} from '../../src/gateway/governance/plans.ts';

describe('plans', () => {
  it('default to GPT-4 launch limits: 200 RPM, 40,000 TPM, all models, list prices', () => {
    const set = parsePlans({});
    const p = getPlan(set, 'default');
    assert.deepEqual(p, { name: 'default', rpm: 200, tpm: 40000, models: ['*'], imageInput: true, priceMultiplier: 1 });
    assert.equal(set.defaultPlan, 'default');
  });

  it('parse every field and fill the rest with defaults', () => {
    const set = parsePlans(
      {
        defaultPlan: 'free',
        plans: {
          free: { rpm: 3, tpm: 4000, models: ['gpt-4'], imageInput: false, usageCap: { messages: 25, windowHours: 3 } },
          research: { priceMultiplier: 0.5 },
        },
      },
      'plans.json',
    );
    assert.equal(set.defaultPlan, 'free');
    assert.deepEqual(getPlan(set, 'free'), {
      name: 'free',
      rpm: 3,
      tpm: 4000,
      models: ['gpt-4'],
      imageInput: false,
      priceMultiplier: 1,
      usageCap: { messages: 25, windowHours: 3 },
    });
    assert.deepEqual(getPlan(set, 'research'), { ...DEFAULT_PLAN, name: 'research', priceMultiplier: 0.5 });
    assert.ok(set.plans.has('default'), 'the default plan always exists');
  });

  const bad: [string, unknown, RegExp][] = [
    ['negative rpm', { plans: { p: { rpm: -5 } } }, /^plans\.json: plans\.p\.rpm must be an integer in \[1, 1000000000\], got -5$/],
    ['fractional tpm', { plans: { p: { tpm: 1.5 } } }, /plans\.p\.tpm must be an integer in \[1, 1000000000\], got 1\.5/],
    ['string rpm', { plans: { p: { rpm: '200' } } }, /plans\.p\.rpm must be an integer .* got "200"/],
    ['unknown field', { plans: { p: { rpmm: 5 } } }, /plans\.p: unknown field 'rpmm' \(expected one of rpm, tpm, models/],
    ['empty models', { plans: { p: { models: [] } } }, /plans\.p\.models must be a non-empty array/],
    ['bad imageInput', { plans: { p: { imageInput: 'yes' } } }, /plans\.p\.imageInput must be true or false, got "yes"/],
    ['bad multiplier', { plans: { p: { priceMultiplier: -1 } } }, /plans\.p\.priceMultiplier must be a number in \[0, 1000\]/],
    [
      'cap without window',
      { plans: { p: { usageCap: { messages: 25 } } } },
      /plans\.p\.usageCap\.windowHours must be a number of hours in \(0, 8784\], got undefined/,
    ],
    [
      'cap of zero',
      { plans: { p: { usageCap: { messages: 0, windowHours: 4 } } } },
      /plans\.p\.usageCap\.messages must be an integer in \[1, /,
    ],
    ['unknown default plan', { defaultPlan: 'gold' }, /defaultPlan "gold" is not a plan here \(plans: default\)/],
    ['unknown top-level field', { plan: {} }, /unknown field 'plan' \(expected plans, defaultPlan\)/],
    ['bad plan name', { plans: { 'a b': {} } }, /plan name "a b" must be 1-64 characters/],
  ];
  for (const [what, doc, re] of bad) {
    it(`reject ${what} with an error naming the field and the limit`, () => {
      assert.throws(
        () => parsePlans(doc, 'plans.json'),
        (e: unknown) => e instanceof PlanConfigError && re.test((e as Error).message),
      );
    });
  }

  it('load from a file (built-in set when absent; invalid JSON names the file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetra-plans-'));
    assert.equal(loadPlans(join(dir, 'missing.json')).source, 'built-in');
    const path = join(dir, 'plans.json');
    writeFileSync(path, JSON.stringify({ plans: { pro: { rpm: 500 } } }));
    assert.equal(getPlan(loadPlans(path), 'pro').rpm, 500);
    writeFileSync(path, '{ nope');
    assert.throws(() => loadPlans(path), new RegExp(`^Error: ${path.replace(/[.]/g, '\\.')}: not valid JSON`));
    assert.throws(() => getPlan(loadPlans(join(dir, 'missing.json')), 'gold'), /no plan named 'gold' in built-in \(plans: default\)/);
  });

  it('allow a model listed by alias or snapshot, and refuse others as model_not_found', () => {
    const p = getPlan(parsePlans({ plans: { p: { models: ['gpt-4', 'tetra-small-0314'] } } }), 'p');
    checkModel(p, 'gpt-4');
    checkModel(p, 'tetra-small', 'tetra-small-0314');
    assert.throws(
      () => checkModel(p, 'gpt-4-32k', 'gpt-4-32k-0314'),
      (e: unknown) =>
        e instanceof GovernanceError &&
        e.status === 404 &&
        e.code === 'model_not_found' &&
        /`gpt-4-32k` does not exist or you do not have access to it/.test(e.message),
    );
    checkModel(DEFAULT_PLAN, 'anything');
  });

  it('refuse image input on plans without it', () => {
    const p = getPlan(parsePlans({ plans: { t: { imageInput: false } } }), 't');
    checkImageInput(p, false);
    assert.throws(
      () => checkImageInput(p, true),
      (e: unknown) => e instanceof GovernanceError && e.status === 403 && e.code === 'image_input_not_allowed',
    );
  });

  it('price at list price times the plan multiplier ($0.03/$0.06 per 1k for gpt-4 8k)', () => {
    const gpt4 = { prompt: 0.03, completion: 0.06 };
    assert.equal(costUsd(DEFAULT_PLAN, gpt4, 1000, 500), 0.06);
    const research = getPlan(parsePlans({ plans: { r: { priceMultiplier: 0.5 } } }), 'r');
    assert.equal(costUsd(research, gpt4, 1000, 500), 0.03);
    assert.equal(costUsd(DEFAULT_PLAN, gpt4, 1, 0), 0.00003);
  });
});
