// Visual question answering, scored as the shapes scene set defines it: each question asked on
// its own (the image and the question in one user turn), answered greedily, exact match after
// trimming and lowercasing, accuracy overall and per question type.
import {
  generateShapes,
  greyToPixels,
  imageAndText,
  rgbToPixels,
  SCENE_SIZE,
  type LabelledImages,
  type ShapesSplit,
} from '../data/index.ts';
import { generate, imageSlots, packImages, type GPT } from '../model/index.ts';
import { defaultBackend, type Backend } from '../tensor/index.ts';
import { renderPrompt, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';

export interface VqaItem {
  messages: ChatMessage[];
  answer: string;
  type: string;
}

export interface VqaReport {
  n: number;
  accuracy: number;
  byType: Record<string, { n: number; correct: number; accuracy: number }>;
  /** The model's replies, in item order (opts.answers). */
  answers?: string[];
}

/** One question on one image: the image and the question in one user turn. */
export function vqaItem(type: string, answer: string, pixels: Float32Array, question: string, textFirst = false): VqaItem {
  return { type, answer, messages: [{ role: 'user', content: imageAndText(pixels, question, textFirst) }] };
}

/** The questions of `count` scenes of a split (textFirst: each asked before its image, as OpenAI's examples order parts). */
export function shapesItems(split: ShapesSplit, count: number, seed = 1, size = SCENE_SIZE, textFirst = false): VqaItem[] {
  return generateShapes({ seed, count, split }).flatMap((s) => {
    const pixels = rgbToPixels(s.rgb, size);
    return s.questions.map((q) => vqaItem(q.type, q.answer, pixels, q.question, textFirst));
  });
}

/** One item per image of a labelled set (its first `limit`), pixels at the model's size. */
export function labelledItems(images: LabelledImages, question: string, size: number, type: string, limit = Infinity): VqaItem[] {
  return images.answers.slice(0, limit).map((answer, i) => vqaItem(type, answer, greyToPixels(images, i, size), question));
}

export const normalise = (s: string): string =>
  s
    .trim()
    .toLowerCase()
    .replace(/[.!]+$/, '');

/** Answers every item greedily, `batch` at a time, and scores them. */
export function vqaAccuracy(
  model: GPT,
  tok: Tokenizer,
  items: VqaItem[],
  o: { backend?: Backend<Float32Array>; batch?: number; answers?: boolean } = {},
): VqaReport {
  const v = model.config.vision;
  if (!v) throw new Error('vqa: the model has no image input');
  const backend = o.backend ?? defaultBackend();
  const B = o.batch ?? 16;
  const byType: VqaReport['byType'] = {};
  let correct = 0;
  const answers: string[] = [];
  for (let i = 0; i < items.length; i += B) {
    const part = items.slice(i, i + B);
    const rendered = part.map((it) => renderPrompt(tok, it.messages, { imageSlots: imageSlots(v) }));
    const images = part.map((it, j) => {
      const px = it.messages.flatMap((m) =>
        typeof m.content === 'string'
          ? []
          : m.content.flatMap((p) => (p.type === 'image' ? [(p as unknown as { pixels: Float32Array }).pixels] : [])),
      );
      return px.length ? packImages(px, rendered[j].imagePositions) : undefined;
    });
    const gens = generate(
      model,
      backend,
      rendered.map((r) => Int32Array.from(r.ids)),
      {
        maxTokens: 160,
        temperature: 0,
        stopTokens: [tok.special('<|end|>'), tok.special('<|endoftext|>')],
        decode: (t) => tok.decode(t),
        images,
      },
    );
    part.forEach((it, j) => {
      const ok = normalise(gens[j].text ?? '') === normalise(it.answer);
      answers.push((gens[j].text ?? '').trim());
      const t = (byType[it.type] ??= { n: 0, correct: 0, accuracy: 0 });
      t.n++;
      if (ok) {
        t.correct++;
        correct++;
      }
    });
  }
  for (const t of Object.values(byType)) t.accuracy = t.correct / t.n;
  return { n: items.length, accuracy: items.length ? correct / items.length : Number.NaN, byType, ...(o.answers ? { answers } : {}) };
}
