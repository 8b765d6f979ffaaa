// Writes the generated data of tetra's built-in evals (arithmetic, logic puzzles, safety) from fixed
// seeds; the hand-written sets (steerability, refusal) are edited as JSONL directly. A test checks
// that the committed files equal this output. Regenerate with:
//   npx tsx src/evals/builtin-registry/generate.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  additionProblems,
  COMPLIANCE,
  generateArithmetic,
  generateInstructions,
  generateSafety,
  seededRandom,
  pick,
  STYLES,
  type SafetyKind,
  generateShapes,
  SCENE_SIZE,
} from '../../data/synthetic/index.ts';
import sharp from 'sharp';
import type { Sample } from '../types.ts';

export const DATA_DIR = join(import.meta.dirname, 'data');

/** 100 held-out problems of the synthetic arithmetic task (its eval split: never in SFT data). */
export function arithmeticSamples(): Sample[] {
  return generateArithmetic({ seed: 4242, count: 100, split: 'eval', maxDigits: 4 }).map((s) => ({
    input: [{ role: 'system', content: 'Answer with the number only.' }, ...s.input],
    ideal: s.ideal,
  }));
}

// ---------------------------------------------------------------------------- logic puzzles
// Orderings with a unique answer: n people, the n-1 adjacent comparisons of a hidden order given
// in shuffled order (each stated either way round), then a question about a position.
const NAMES = ['Ada', 'Bram', 'Cleo', 'Dev', 'Esme', 'Farid', 'Gus', 'Hana', 'Ivo', 'June', 'Kofi', 'Lena'];
const RELATIONS = [
  { more: 'is taller than', less: 'is shorter than', top: 'the tallest', bottom: 'the shortest' },
  { more: 'is older than', less: 'is younger than', top: 'the oldest', bottom: 'the youngest' },
  { more: 'finished the race before', less: 'finished the race after', top: 'the first to finish', bottom: 'the last to finish' },
  {
    more: 'has more marbles than',
    less: 'has fewer marbles than',
    top: 'the one with the most marbles',
    bottom: 'the one with the fewest marbles',
  },
];

export function logicSamples(count = 60): Sample[] {
  const r = seededRandom(7, 'tetra-logic');
  const out: Sample[] = [];
  const seen = new Set<string>();
  while (out.length < count) {
    const n = 3 + Math.floor(r() * 3); // 3..5 people
    const pool = [...NAMES];
    const order: string[] = []; // order[0] is "top"
    for (let i = 0; i < n; i++) order.push(pool.splice(Math.floor(r() * pool.length), 1)[0]);
    const rel = pick(r, RELATIONS);
    const facts = order.slice(0, -1).map((a, i) => (r() < 0.5 ? `${a} ${rel.more} ${order[i + 1]}.` : `${order[i + 1]} ${rel.less} ${a}.`));
    for (let i = facts.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [facts[i], facts[j]] = [facts[j], facts[i]];
    }
    const askTop = r() < 0.5;
    const people = [...order].sort().join(', ');
    const question = `${people} are compared. ${facts.join(' ')} Who is ${askTop ? rel.top : rel.bottom}?`;
    if (seen.has(question)) continue;
    seen.add(question);
    out.push({
      input: [
        { role: 'system', content: 'Solve the puzzle. Answer with the name only.' },
        { role: 'user', content: question },
      ],
      ideal: askTop ? order[0] : order[n - 1],
    });
  }
  return out;
}

/** The safety generator's held-out prompts of one kind (unseen templates and phrasings), for the rbrm-graded evals. */
export function safetySamples(kind: SafetyKind): () => Sample[] {
  return () =>
    generateSafety({ seed: 1, count: 10_000, split: 'eval' })
      .filter((s) => s.kind === kind)
      .map((s) => ({ input: s.input, ideal: s.ideal, held_out: s.heldOut }));
}

/**
 * The held-out sensitive requests again, each with what a policy-compliant answer names (its
 * category's crisis lines, professionals, local law) as the ideals an Includes eval looks for.
 */
export function complianceSamples(): Sample[] {
  return generateSafety({ seed: 1, count: 10_000, split: 'eval' })
    .filter((s) => s.kind === 'sensitive')
    .map((s) => ({ input: s.input, ideal: COMPLIANCE[s.category], category: s.category }));
}

/**
 * Held-out instruction questions (src/data/synthetic/instructions.ts) under system messages in
 * their training wordings ('train') or in the wording held out of training ('held-out').
 */
export function instructSamples(phrasings: 'train' | 'held-out', count = 140): () => Sample[] {
  return () =>
    generateInstructions({
      seed: phrasings === 'train' ? 31 : 32,
      count,
      split: 'eval',
      phrasings,
      // A held-out wording is a system message's: the plain style has none.
      styles: phrasings === 'train' ? undefined : STYLES.filter((x) => x !== 'plain'),
    }).map((s) => ({
      input: s.input,
      ideal: s.ideal,
      style: s.style,
    }));
}

/**
 * Calibration in the pretraining corpus's own format (src/data/synthetic/arithmetic.ts): held-out
 * two-digit additions, `a + b =` continued by the sum or a near miss (off by one or by ten).
 */
export function calibrationSamples(count = 120): Sample[] {
  const r = seededRandom(5, 'tetra-calibration');
  return additionProblems({ seed: 5, count, split: 'eval', digits: 2 }).map((p) => {
    const sum = Number(p.answer);
    const choices = [...new Set([sum, sum + 1, sum - 1, sum + 10, sum - 10, sum + 2])].slice(0, 4).map(String);
    for (let i = choices.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [choices[i], choices[j]] = [choices[j], choices[i]];
    }
    return { input: p.prompt.trimEnd(), choices, gold: choices.indexOf(String(sum)) };
  });
}

export const GENERATED: Record<string, () => Sample[]> = {
  'tetra-arithmetic/samples.jsonl': arithmeticSamples,
  'tetra-logic/samples.jsonl': logicSamples,
  'tetra-safety/harmful.jsonl': safetySamples('harmful'),
  'tetra-safety/lookalike.jsonl': safetySamples('lookalike'),
  'tetra-safety/sensitive.jsonl': safetySamples('sensitive'),
  'tetra-safety/compliance.jsonl': complianceSamples,
  'tetra-instruct/questions.jsonl': instructSamples('train'),
  'tetra-instruct/phrasings.jsonl': instructSamples('held-out'),
  'tetra-calibration/addition.jsonl': calibrationSamples,
};

/**
 * Visual questions on the shapes scene set's held-out splits (src/data/synthetic/shapes.ts): 60
 * scenes each, one sample per question, the scene as a PNG data URL (sharp, so the bytes do not
 * depend on the Node version's zlib).
 */
export async function vqaSamples(split: 'seen' | 'unseen' | 'phrasing'): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const s of generateShapes({ seed: 15, count: 60, split })) {
    const png = await sharp(Buffer.from(s.rgb), { raw: { width: SCENE_SIZE, height: SCENE_SIZE, channels: 3 } })
      .png({ compressionLevel: 9, palette: false })
      .toBuffer();
    const url = `data:image/png;base64,${png.toString('base64')}`;
    for (const q of s.questions)
      out.push({
        input: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url } },
              { type: 'text', text: q.question },
            ],
          },
        ],
        ideal: q.answer,
        type: q.type,
      });
  }
  return out;
}

/** Generated files with images: written by the same script, compared by content (decoded) in the tests. */
export const GENERATED_IMAGES: Record<string, () => Promise<Sample[]>> = {
  'tetra-vqa/seen.jsonl': () => vqaSamples('seen'),
  'tetra-vqa/unseen.jsonl': () => vqaSamples('unseen'),
  'tetra-vqa/phrasing.jsonl': () => vqaSamples('phrasing'),
};

export const jsonl = (xs: readonly unknown[]): string => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const [rel, make] of Object.entries(GENERATED)) {
    const path = join(DATA_DIR, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, jsonl(make()));
    console.log(`wrote ${path}`);
  }
  for (const [rel, make] of Object.entries(GENERATED_IMAGES)) {
    const path = join(DATA_DIR, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, jsonl(await make()));
    console.log(`wrote ${path}`);
  }
}
