// Plans: what a key may do. Read from a JSON file (default $TETRA_HOME/plans.json):
//
//   { "defaultPlan": "default",
//     "plans": {
//       "default":  { "rpm": 200, "tpm": 40000 },
//       "chat":     { "models": ["gpt-4"], "usageCap": { "messages": 25, "windowHours": 3 } },
//       "research": { "priceMultiplier": 0.5, "imageInput": true } } }
//
// Every field is optional and defaults to GPT-4's launch limits (200 RPM, 40,000 TPM), all
// models, image input allowed, list prices. A plan named "default" always exists (the file may
// override it); it serves loopback clients when no API key is configured.
import { existsSync, readFileSync } from 'node:fs';
import { GovernanceError, type Plan } from './contract.ts';

export const DEFAULT_PLAN: Readonly<Plan> = Object.freeze({
  name: 'default',
  rpm: 200,
  tpm: 40_000,
  models: ['*'],
  imageInput: true,
  priceMultiplier: 1,
});

export class PlanConfigError extends Error {}

export interface PlanSet {
  defaultPlan: string;
  plans: Map<string, Plan>;
  /** Where the set came from (a path, or 'built-in'), for messages. */
  source: string;
}

const PLAN_FIELDS = new Set(['rpm', 'tpm', 'models', 'imageInput', 'usageCap', 'priceMultiplier']);
const MAX_RATE = 1e9;

function intField(v: unknown, where: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new PlanConfigError(`${where} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function parsePlan(name: string, raw: unknown, source: string): Plan {
  const at = `${source}: plans.${name}`;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new PlanConfigError(`${source}: plan name ${JSON.stringify(name)} must be 1-64 characters of A-Z a-z 0-9 _ . -`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new PlanConfigError(`${at} must be an object, got ${JSON.stringify(raw)}`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!PLAN_FIELDS.has(k)) throw new PlanConfigError(`${at}: unknown field '${k}' (expected one of ${[...PLAN_FIELDS].join(', ')})`);
  }
  const plan: Plan = {
    name,
    rpm: o.rpm === undefined ? DEFAULT_PLAN.rpm : intField(o.rpm, `${at}.rpm`, 1, MAX_RATE),
    tpm: o.tpm === undefined ? DEFAULT_PLAN.tpm : intField(o.tpm, `${at}.tpm`, 1, MAX_RATE),
    models: [...DEFAULT_PLAN.models],
    imageInput: DEFAULT_PLAN.imageInput,
    priceMultiplier: DEFAULT_PLAN.priceMultiplier,
  };
  if (o.models !== undefined) {
    if (!Array.isArray(o.models) || o.models.length === 0 || !o.models.every((m) => typeof m === 'string' && m.length > 0)) {
      throw new PlanConfigError(`${at}.models must be a non-empty array of model ids (or ["*"] for all), got ${JSON.stringify(o.models)}`);
    }
    plan.models = [...new Set(o.models as string[])];
  }
  if (o.imageInput !== undefined) {
    if (typeof o.imageInput !== 'boolean')
      throw new PlanConfigError(`${at}.imageInput must be true or false, got ${JSON.stringify(o.imageInput)}`);
    plan.imageInput = o.imageInput;
  }
  if (o.priceMultiplier !== undefined) {
    const m = o.priceMultiplier;
    if (typeof m !== 'number' || !Number.isFinite(m) || m < 0 || m > 1000) {
      throw new PlanConfigError(
        `${at}.priceMultiplier must be a number in [0, 1000] (1 = list price, 0.5 = half), got ${JSON.stringify(m)}`,
      );
    }
    plan.priceMultiplier = m;
  }
  if (o.usageCap !== undefined) {
    const c = o.usageCap as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) {
      throw new PlanConfigError(`${at}.usageCap must be an object like {"messages": 25, "windowHours": 3}, got ${JSON.stringify(c)}`);
    }
    for (const k of Object.keys(c)) {
      if (k !== 'messages' && k !== 'windowHours')
        throw new PlanConfigError(`${at}.usageCap: unknown field '${k}' (expected messages, windowHours)`);
    }
    const messages = intField(c.messages, `${at}.usageCap.messages`, 1, MAX_RATE);
    const wh = c.windowHours;
    if (typeof wh !== 'number' || !Number.isFinite(wh) || wh <= 0 || wh > 24 * 366) {
      throw new PlanConfigError(`${at}.usageCap.windowHours must be a number of hours in (0, 8784], got ${JSON.stringify(wh)}`);
    }
    plan.usageCap = { messages, windowHours: wh };
  }
  return plan;
}

/** Validates a parsed plans document; errors name the file, the field and the limit. */
export function parsePlans(doc: unknown, source = 'plans'): PlanSet {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PlanConfigError(`${source}: expected an object {"plans": {...}, "defaultPlan": "..."}, got ${JSON.stringify(doc)}`);
  }
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'plans' && k !== 'defaultPlan') throw new PlanConfigError(`${source}: unknown field '${k}' (expected plans, defaultPlan)`);
  }
  const plans = new Map<string, Plan>([['default', { ...DEFAULT_PLAN, models: [...DEFAULT_PLAN.models] }]]);
  if (o.plans !== undefined) {
    if (typeof o.plans !== 'object' || o.plans === null || Array.isArray(o.plans)) {
      throw new PlanConfigError(`${source}: plans must be an object of plan name -> plan, got ${JSON.stringify(o.plans)}`);
    }
    for (const [name, raw] of Object.entries(o.plans)) plans.set(name, parsePlan(name, raw, source));
  }
  const defaultPlan = o.defaultPlan === undefined ? 'default' : o.defaultPlan;
  if (typeof defaultPlan !== 'string' || !plans.has(defaultPlan)) {
    throw new PlanConfigError(
      `${source}: defaultPlan ${JSON.stringify(defaultPlan)} is not a plan here (plans: ${[...plans.keys()].join(', ')})`,
    );
  }
  return { defaultPlan, plans, source };
}

/** The built-in set (just "default") when the file does not exist; a bad file is an error. */
export function loadPlans(path: string): PlanSet {
  if (!existsSync(path)) return { ...parsePlans({}, 'built-in'), source: 'built-in' };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PlanConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parsePlans(doc, path);
}

export function getPlan(set: PlanSet, name: string): Plan {
  const p = set.plans.get(name);
  if (!p) throw new PlanConfigError(`no plan named '${name}' in ${set.source} (plans: ${[...set.plans.keys()].join(', ')})`);
  return p;
}

// ---- the checks routes run after auth (step 2 of the contract) ----

export function planAllows(plan: Plan, requested: string, snapshot?: string): boolean {
  return plan.models.includes('*') || plan.models.includes(requested) || (snapshot !== undefined && plan.models.includes(snapshot));
}

/**
 * `model` may be what the client asked for (an alias) or the snapshot it resolves to; a plan
 * listing either allows it, so plans can pin snapshots or follow an alias.
 */
export function checkModel(plan: Plan, requested: string, snapshot?: string): void {
  if (planAllows(plan, requested, snapshot)) return;
  throw new GovernanceError(
    `The model \`${requested}\` does not exist or you do not have access to it (plan '${plan.name}' allows: ${plan.models.join(', ')}).`,
    404,
    'invalid_request_error',
    'model_not_found',
  );
}

export function checkImageInput(plan: Plan, hasImage: boolean): void {
  if (!hasImage || plan.imageInput) return;
  throw new GovernanceError(
    `Image input is not available on plan '${plan.name}'; send text only or use a key on a plan with imageInput enabled.`,
    403,
    'invalid_request_error',
    'image_input_not_allowed',
  );
}

/** List price (USD per 1k tokens) times the plan's multiplier, rounded to a nano-dollar (no float dust in the ledger). */
export function costUsd(plan: Plan, price: { prompt: number; completion: number }, promptTokens: number, completionTokens: number): number {
  const usd = ((promptTokens * price.prompt + completionTokens * price.completion) / 1000) * plan.priceMultiplier;
  return Math.round(usd * 1e9) / 1e9;
}
