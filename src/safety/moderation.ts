// Moderation: a text -> OpenAI's /v1/moderations result (flagged, categories, category_scores),
// from a small letter classifier (letters.ts) with one label per top-level category:
//   N none, V violence, I illicit, H harassment, T hate, S self-harm
// trained on the safety generator's requests (harmful ones by category, self-harm disclosures,
// and the safe lookalikes, sensitive and instruction requests as N), held out as the generator
// holds them out. OpenAI's subcategories (harassment/threatening, hate/threatening,
// illicit/violent, self-harm/intent, self-harm/instructions, violence/graphic) are not told apart
// by this classifier: each carries its parent's score. sexual and sexual/minors are not modelled
// (no training data) and always score 0.
import { generateInstructions, safetyPrompts } from '../data/index.ts';
import { openCheckpoint } from '../model/index.ts';
import type { Backend } from '../tensor/index.ts';
import { clip, LetterClassifier, type Classified } from './letters.ts';

export const MODERATION_LABELS = ['N', 'V', 'I', 'H', 'T', 'S'] as const;
export type ModerationLabel = (typeof MODERATION_LABELS)[number];
export const MODERATION_SYSTEM = 'Moderate. N: none. V: violence. I: illicit. H: harassment. T: hate. S: self-harm.';

/** OpenAI's category keys, and the label whose score each one carries (null: not modelled). */
export const OPENAI_CATEGORIES: Record<string, ModerationLabel | null> = {
  harassment: 'H',
  'harassment/threatening': 'H',
  hate: 'T',
  'hate/threatening': 'T',
  illicit: 'I',
  'illicit/violent': 'I',
  'self-harm': 'S',
  'self-harm/intent': 'S',
  'self-harm/instructions': 'S',
  sexual: null,
  'sexual/minors': null,
  violence: 'V',
  'violence/graphic': 'V',
};

/** The label of each harmful category of the safety generator. */
const HARMFUL_LABEL: Record<string, ModerationLabel> = {
  weapons: 'V',
  violence: 'V',
  cybercrime: 'I',
  drugs: 'I',
  fraud: 'I',
  harassment: 'H',
  hate: 'T',
};

export interface ModerationSample {
  text: string;
  label: ModerationLabel;
}

/** Labelled texts of one split: every safety request, plus instruction prompts as more N. */
export function moderationSamples(split: 'train' | 'eval', seed = 1): ModerationSample[] {
  const out: ModerationSample[] = [];
  for (const p of safetyPrompts()) {
    if ((split === 'eval') !== (p.heldOut !== null)) continue;
    const label = p.kind === 'harmful' ? HARMFUL_LABEL[p.category] : p.kind === 'sensitive' && p.category === 'self-harm' ? 'S' : 'N';
    if (!label) throw new Error(`moderation: the safety category ${p.category} has no moderation label`);
    out.push({ text: p.text, label });
  }
  const extra = generateInstructions({ seed, count: split === 'train' ? 200 : 40, split });
  for (const s of extra) out.push({ text: s.input.at(-1)!.content, label: 'N' });
  return out;
}

export interface ModerationResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
  category_applied_input_types: Record<string, string[]>;
}

export class ModerationClassifier {
  constructor(readonly letters: LetterClassifier<ModerationLabel>) {}

  static async load(dir: string, backend: Backend<Float32Array>): Promise<ModerationClassifier> {
    const { model, tok } = await openCheckpoint(dir);
    return new ModerationClassifier(new LetterClassifier(model, tok, backend, MODERATION_LABELS, MODERATION_SYSTEM));
  }

  classify(text: string): Classified<ModerationLabel> {
    return this.letters.classifyText(clip(text));
  }

  /** OpenAI's result object for one text; a category is flagged at score >= threshold. */
  moderate(text: string, threshold = 0.5): ModerationResult {
    const { scores } = this.classify(text);
    const category_scores = Object.fromEntries(Object.entries(OPENAI_CATEGORIES).map(([k, l]) => [k, l ? scores[l] : 0]));
    const categories = Object.fromEntries(Object.entries(category_scores).map(([k, v]) => [k, v >= threshold]));
    return {
      flagged: Object.values(categories).some(Boolean),
      categories,
      category_scores,
      category_applied_input_types: Object.fromEntries(Object.keys(OPENAI_CATEGORIES).map((k) => [k, ['text']])),
    };
  }
}
