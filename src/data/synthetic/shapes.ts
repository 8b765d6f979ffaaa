// The shapes scene set: small pictures of coloured shapes with questions about them, generated
// offline from a seed (visual question answering a CPU-sized model can learn, as Sort-of-CLEVR).
// Its definition is a contract other tools can generate against (also in the README):
//
//   - a square image, white background, SCENE_SIZE (64) px when generated;
//   - 1 to 6 solid shapes that do not overlap, each a circle, square or triangle (pointing up),
//     10 to 20 px across; colours SHAPE_COLOURS (training images jitter each channel by up to 12);
//   - questions in plain English with one-word lowercase answers, by type:
//       colour    "What color is the triangle?"               (asked only when the kind is unique)
//       kind      "What shape is the blue object?"            (only when the colour is unique)
//       count     "How many shapes are there?", "How many blue shapes are there?"  (zero..six)
//       exist     "Is there a red circle?"                    (yes / no, balanced)
//       relation  "Is the red circle left of the blue square?" (yes / no), "What shape is left of
//                 the green circle?" (only when exactly one shape is) -- left/right by centres at
//                 least 4 px apart
//       side      "Which side is the red circle on?" -> left / right, by the centre's half (asked
//                 only when it is at least 6 px from the middle)
//       caption   "Describe the image." -> the shapes left to right: "a red circle and a blue square"
//
// Held out, so evals measure generalisation (CLEVR CoGenT's idea): HELD_OUT_COMBOS, four
// colour-shape combinations, never appear in a training image; the last phrasing of each question
// type never appears in training. Eval scenes come from their own seed stream. The eval splits:
//   seen      fresh scenes of seen combinations, training phrasings
//   unseen    scenes holding a held-out combination, questions about it where the type allows
//   phrasing  fresh scenes of seen combinations, the held-out phrasings
import type { ChatMessage, ChatPart } from '../../tokenizer/index.ts';
import { toPixels } from '../pixels.ts';
import { englishNumber } from './instructions.ts';
import { pick, randInt, seededRandom } from './common.ts';

export const SHAPES_TASK = 'shapes';
export const SCENE_SIZE = 64;
export const SHAPE_KINDS = ['circle', 'square', 'triangle'] as const;
/**
 * Kinds and colours beyond the contract's, for training only (generateShapes' `variety`): they
 * show the model every kind in many colours and every colour in many kinds, as a held-out
 * combination's parts are seen only with some of the others. Eval splits never draw them.
 */
export const EXTRA_KINDS = ['diamond', 'cross', 'ring'] as const;
export const EXTRA_COLOURS = {
  pink: [240, 120, 190],
  cyan: [20, 200, 220],
  brown: [140, 85, 40],
  lime: [160, 230, 40],
  teal: [20, 130, 130],
  maroon: [120, 20, 30],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ShapeKind = (typeof SHAPE_KINDS)[number] | (typeof EXTRA_KINDS)[number];
export const SHAPE_COLOURS = {
  red: [220, 30, 30],
  green: [30, 160, 60],
  blue: [30, 70, 220],
  yellow: [235, 200, 20],
  orange: [245, 130, 20],
  purple: [140, 50, 180],
  black: [20, 20, 20],
  gray: [128, 128, 128],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ShapeColour = keyof typeof SHAPE_COLOURS | keyof typeof EXTRA_COLOURS;
/** The contract's colours. */
export const COLOUR_NAMES = Object.keys(SHAPE_COLOURS) as ShapeColour[];
const RGB: Record<ShapeColour, readonly number[]> = { ...SHAPE_COLOURS, ...EXTRA_COLOURS };
/** Combinations never drawn in training images (each kind and colour still appears otherwise). */
export const HELD_OUT_COMBOS: readonly [ShapeColour, ShapeKind][] = [
  ['red', 'triangle'],
  ['blue', 'square'],
  ['yellow', 'circle'],
  ['purple', 'square'],
];
export const QUESTION_TYPES = ['colour', 'kind', 'count', 'exist', 'relation', 'caption', 'side'] as const;
/**
 * Question types for training only (named in generateShapes' types; never in an eval split):
 *   list   "List the shapes left of the green circle." -> "a red circle and a blue square" (or
 *          "none"), left to right: a caption of one side of a named shape, so every shape's
 *          place against it is taught at once, as captions teach what is where.
 */
export const TRAINING_TYPES = ['list'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number] | (typeof TRAINING_TYPES)[number];

export interface Shape {
  kind: ShapeKind;
  colour: ShapeColour;
  /** Centre, in pixels of a SCENE_SIZE image. */
  x: number;
  y: number;
  /** Across, in pixels. */
  size: number;
}
export interface Scene {
  shapes: Shape[];
}
export interface ShapesQuestion {
  type: QuestionType;
  question: string;
  answer: string;
}
export type ShapesSplit = 'train' | 'seen' | 'unseen' | 'phrasing';
export interface ShapesSample {
  scene: Scene;
  /** RGB bytes, SCENE_SIZE x SCENE_SIZE x 3, row-major. */
  rgb: Uint8Array;
  questions: ShapesQuestion[];
  split: ShapesSplit;
}

// Phrasings per type; the last of each is held out. Nine or ten for training, so a question's
// wording varies as a user's would and the held-out one is one more, not one of four.
const P = {
  colour: [
    'What color is the {kind}?',
    'What colour is the {kind}?',
    'Which color is the {kind}?',
    'What is the color of the {kind}?',
    'What color is used for the {kind}?',
    'Name the color of the {kind}.',
    'What color does the {kind} have?',
    'Which colour is the {kind}?',
    'Of what color is the {kind}?',
    'Tell me the color of the {kind}.',
  ],
  kind: [
    'What shape is the {colour} object?',
    'What is the shape of the {colour} object?',
    'Which shape is {colour}?',
    'Which shape is the {colour} one?',
    'What kind of shape is {colour}?',
    'Name the shape of the {colour} object.',
    'What is the {colour} shape?',
    'Tell me the shape of the {colour} object.',
    'Which shape is the {colour} object?',
    'The {colour} object is what shape?',
  ],
  countAll: [
    'How many shapes are there?',
    'How many objects are in the image?',
    'Count the shapes.',
    'How many shapes do you see?',
    'How many shapes does the picture have?',
    'Count all the objects.',
    'Tell me how many shapes there are.',
    'How many things are drawn?',
    'What is the number of shapes?',
  ],
  countColour: [
    'How many {colour} shapes are there?',
    'How many {colour} objects are there?',
    'Count the {colour} shapes.',
    'How many {colour} things are there?',
    'Count the {colour} objects.',
    'Tell me how many {colour} shapes there are.',
    'How many shapes are {colour}?',
    'How many {colour} shapes do you see?',
    'What is the number of {colour} shapes?',
  ],
  countKind: [
    'How many {kinds} are there?',
    'How many {kinds} are in the image?',
    'Count the {kinds}.',
    'How many {kinds} do you see?',
    'Count all the {kinds}.',
    'Tell me how many {kinds} there are.',
    'How many {kinds} can you see?',
    'How many {kinds} does the picture have?',
    'What is the number of {kinds}?',
  ],
  exist: [
    'Is there a {colour} {kind}?',
    'Does the image contain a {colour} {kind}?',
    'Can you see a {colour} {kind}?',
    'Is there a {colour} {kind} anywhere?',
    'Do you see a {colour} {kind}?',
    'Does the picture have a {colour} {kind}?',
    'Is a {colour} {kind} in the image?',
    'Is there a {colour} {kind} in the picture?',
    'Is a {colour} {kind} present?',
  ],
  leftOf: [
    'Is the {a} left of the {b}?',
    'Is the {a} to the left of the {b}?',
    'Is the {a} on the left of the {b}?',
    'Does the {a} lie left of the {b}?',
    'Is the {a} placed left of the {b}?',
    'Is the {a} left of the {b} in the picture?',
    'Is the {a} more to the left than the {b}?',
    'Is the {a} at the left of the {b}?',
    'Is the {a} further left than the {b}?',
  ],
  rightOf: [
    'Is the {a} right of the {b}?',
    'Is the {a} to the right of the {b}?',
    'Is the {a} on the right of the {b}?',
    'Does the {a} lie right of the {b}?',
    'Is the {a} placed right of the {b}?',
    'Is the {a} right of the {b} in the picture?',
    'Is the {a} more to the right than the {b}?',
    'Is the {a} at the right of the {b}?',
    'Is the {a} further right than the {b}?',
  ],
  whichLeft: [
    'What shape is left of the {a}?',
    'Which shape is to the left of the {a}?',
    'What shape is on the left of the {a}?',
    'What is left of the {a}?',
    'Which shape lies left of the {a}?',
    'What shape sits to the left of the {a}?',
    'Tell me the shape left of the {a}.',
    'Which object is left of the {a}?',
    'Name the shape left of the {a}.',
  ],
  whichRight: [
    'What shape is right of the {a}?',
    'Which shape is to the right of the {a}?',
    'What shape is on the right of the {a}?',
    'What is right of the {a}?',
    'Which shape lies right of the {a}?',
    'What shape sits to the right of the {a}?',
    'Tell me the shape right of the {a}.',
    'Which object is right of the {a}?',
    'Name the shape right of the {a}.',
  ],
  side: [
    'Which side is the {a} on?',
    'Is the {a} on the left or the right?',
    'On which side is the {a}?',
    'Which half of the image is the {a} in?',
    'Is the {a} on the left side or the right side?',
    'Which side of the picture is the {a} on?',
    'Tell me which side the {a} is on.',
    'Does the {a} sit on the left or on the right?',
    'Where is the {a}, left or right?',
    'In which half is the {a}, left or right?',
  ],
  listLeft: [
    'List the shapes left of the {a}.',
    'List every shape to the left of the {a}.',
    'Name all the shapes left of the {a}.',
    'List the shapes on the left of the {a}.',
    'Name every shape to the left of the {a}.',
  ],
  listRight: [
    'List the shapes right of the {a}.',
    'List every shape to the right of the {a}.',
    'Name all the shapes right of the {a}.',
    'List the shapes on the right of the {a}.',
    'Name every shape to the right of the {a}.',
  ],
  caption: [
    'Describe the image.',
    'What is in the image?',
    'Describe this picture.',
    'What do you see?',
    'Describe the picture.',
    'What is shown in the picture?',
    'Tell me what is in the image.',
    'What shapes are in this picture?',
    'List the shapes in the image.',
  ],
} as const;

const heldOutCombo = (c: ShapeColour, k: ShapeKind) => HELD_OUT_COMBOS.some(([hc, hk]) => hc === c && hk === k);
/** Left/right is asked only between centres at least this far apart. */
const MIN_DX = 4;
/**
 * The side is asked only of centres at least this far from the middle. Side questions teach the
 * model to fetch a named shape's column, the first half of a relation: without them relations sat
 * at chance; from the same checkpoint, 1,500 steps of side and relation questions took yes/no
 * relations from 50% to 71% (88.6% with centres 32 px apart or more), relations alone did nothing.
 */
const MIN_SIDE = 6;

/** What a scene's shapes are drawn from: the contract's kinds and colours, or more (Palette.variety). */
export interface Palette {
  kinds: readonly ShapeKind[];
  colours: readonly ShapeColour[];
  /** The chance that a shape's kind, and apart its colour, comes from every kind (colour) rather than the contract's. */
  variety: number;
}
export const CONTRACT: Palette = { kinds: SHAPE_KINDS, colours: COLOUR_NAMES, variety: 0 };
/** The contract's kinds and colours, and with the chance `variety` each, the extra ones too. */
export const widePalette = (variety: number): Palette =>
  variety > 0
    ? { kinds: [...SHAPE_KINDS, ...EXTRA_KINDS], colours: [...COLOUR_NAMES, ...(Object.keys(EXTRA_COLOURS) as ShapeColour[])], variety }
    : CONTRACT;

/** A random scene: 1 to 6 shapes placed without overlap (2 px apart at least). */
export function randomScene(
  r: () => number,
  allow: (c: ShapeColour, k: ShapeKind) => boolean,
  count = randInt(r, 1, 6),
  palette = CONTRACT,
): Scene {
  const drawKind = () => pick(r, palette.variety && r() < palette.variety ? palette.kinds : SHAPE_KINDS),
    drawColour = () => pick(r, palette.variety && r() < palette.variety ? palette.colours : COLOUR_NAMES);
  for (;;) {
    const shapes: Shape[] = [];
    for (let tries = 0; shapes.length < count && tries < 200; tries++) {
      const kind = drawKind(),
        colour = drawColour();
      if (!allow(colour, kind)) continue;
      const size = randInt(r, 10, 20),
        half = size / 2;
      const x = half + 1 + r() * (SCENE_SIZE - size - 2),
        y = half + 1 + r() * (SCENE_SIZE - size - 2);
      const clear = shapes.every((s) => Math.abs(s.x - x) >= (s.size + size) / 2 + 2 || Math.abs(s.y - y) >= (s.size + size) / 2 + 2);
      if (clear) shapes.push({ kind, colour, x, y, size });
    }
    if (shapes.length === count) return { shapes };
  }
}

function inside(s: Shape, px: number, py: number): boolean {
  const h = s.size / 2,
    dx = px - s.x,
    dy = py - s.y;
  if (s.kind === 'circle') return dx * dx + dy * dy <= h * h;
  if (s.kind === 'square') return Math.abs(dx) <= h && Math.abs(dy) <= h;
  if (s.kind === 'diamond') return Math.abs(dx) + Math.abs(dy) <= h;
  if (s.kind === 'cross') return (Math.abs(dx) <= h / 3 && Math.abs(dy) <= h) || (Math.abs(dy) <= h / 3 && Math.abs(dx) <= h);
  if (s.kind === 'ring') return dx * dx + dy * dy <= h * h && dx * dx + dy * dy >= 0.3 * h * h;
  // triangle pointing up: apex (x, y - h), base from (x - h, y + h) to (x + h, y + h)
  return dy >= -h && dy <= h && Math.abs(dx) <= (dy + h) / 2;
}

/**
 * Renders a scene: 4 x 4 samples per pixel, each shape's coverage blended over white. jitter
 * (training): each shape's colour moves by up to +-12 per channel.
 */
export function renderScene(scene: Scene, r?: () => number): Uint8Array {
  const S = SCENE_SIZE,
    out = new Uint8Array(S * S * 3).fill(255);
  for (const s of scene.shapes) {
    const base = RGB[s.colour];
    const rgb = base.map((v) => Math.max(0, Math.min(255, v + (r ? Math.round((r() * 2 - 1) * 12) : 0))));
    const h = s.size / 2;
    for (let py = Math.max(0, Math.floor(s.y - h - 1)); py <= Math.min(S - 1, Math.ceil(s.y + h + 1)); py++)
      for (let px = Math.max(0, Math.floor(s.x - h - 1)); px <= Math.min(S - 1, Math.ceil(s.x + h + 1)); px++) {
        let hits = 0;
        for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (inside(s, px + (sx + 0.5) / 4, py + (sy + 0.5) / 4)) hits++;
        if (!hits) continue;
        const a = hits / 16,
          o = (py * S + px) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(out[o + c] * (1 - a) + rgb[c] * a);
      }
  }
  return out;
}

const name = (s: Shape) => `${s.colour} ${s.kind}`;
/** Shapes left to right in words: "a red circle, an orange square and a blue triangle". */
function listed(shapes: readonly Shape[]): string {
  const names = [...shapes].sort((a, b) => a.x - b.x).map((s) => `a ${name(s)}`);
  return articles(names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
}
/** "a" before a vowel made "an" ("an orange circle"). */
const articles = (text: string) => text.replace(/\b([Aa]) (?=[aeiou])/g, '$1n ');
/** A template with its slots filled ("Is there an orange circle?"). */
const fill = (t: string, v: Record<string, string>) => articles(t.replace(/\{(\w+)\}/g, (_, k: string) => v[k]));

/**
 * Every question this scene allows of one type, in the phrasing chosen by `phr` (an index into
 * the type's list). focus (the unseen split): only questions about that shape. countPresent: the
 * chance that a count question asks about the colour and the kind of a shape in the scene.
 */
function questionsOf(
  scene: Scene,
  type: QuestionType,
  phr: (n: number) => number,
  r: () => number,
  focus: Shape | null,
  palette: Palette,
  countPresent = 0,
) {
  const sh = scene.shapes;
  const q = (template: readonly string[], vars: Record<string, string>, answer: string): ShapesQuestion => ({
    type,
    question: fill(template[phr(template.length)], vars),
    answer,
  });
  const unique = <K extends 'kind' | 'colour'>(k: K) => {
    const counts = new Map<string, number>();
    for (const s of sh) counts.set(s[k], (counts.get(s[k]) ?? 0) + 1);
    return sh.filter((s) => counts.get(s[k]) === 1);
  };
  const uniqueCombo = sh.filter((s) => sh.filter((t) => t.kind === s.kind && t.colour === s.colour).length === 1);
  const about = (s: Shape) => !focus || s === focus;
  // Shapes asked about, every other shape clearly left or right of them (relation's "what shape is left of", list).
  const anchors = () => uniqueCombo.filter((a) => about(a) && sh.every((s) => s === a || Math.abs(s.x - a.x) >= MIN_DX));
  const out: ShapesQuestion[] = [];
  switch (type) {
    case 'colour':
      for (const s of unique('kind').filter(about)) out.push(q(P.colour, { kind: s.kind }, s.colour));
      break;
    case 'kind':
      for (const s of unique('colour').filter(about)) out.push(q(P.kind, { colour: s.colour }, s.kind));
      break;
    case 'count': {
      out.push(q(P.countAll, {}, englishNumber(sh.length)));
      // countPresent (training): a colour and a kind the scene has; drawn from the whole palette,
      // most answers are zero (with variety, 73% of colour counts) and counting past one is rarely taught.
      const shown = countPresent && r() < countPresent ? pick(r, sh) : null;
      const c = focus?.colour ?? shown?.colour ?? pick(r, palette.colours),
        k = focus?.kind ?? shown?.kind ?? pick(r, palette.kinds);
      out.push(q(P.countColour, { colour: c }, englishNumber(sh.filter((s) => s.colour === c).length)));
      out.push(q(P.countKind, { kinds: k === 'cross' ? 'crosses' : `${k}s` }, englishNumber(sh.filter((s) => s.kind === k).length)));
      break;
    }
    case 'exist': {
      const present = focus ?? pick(r, sh);
      out.push(q(P.exist, { colour: present.colour, kind: present.kind }, 'yes'));
      // Asked about: seen combinations in seen scenes, held-out ones in unseen scenes.
      const absent: [ShapeColour, ShapeKind][] = [];
      for (const c of palette.colours)
        for (const k of palette.kinds)
          if (heldOutCombo(c, k) === !!focus && !sh.some((s) => s.colour === c && s.kind === k)) absent.push([c, k]);
      // Near misses half the time: a present colour with another kind, or the reverse.
      const near = absent.filter(([c, k]) => sh.some((s) => s.colour === c || s.kind === k));
      const [c, k] = pick(r, near.length && r() < 0.5 ? near : absent);
      out.push(q(P.exist, { colour: c, kind: k }, 'no'));
      break;
    }
    case 'relation': {
      for (const a of uniqueCombo)
        for (const b of uniqueCombo) {
          if (a === b || Math.abs(a.x - b.x) < MIN_DX || !(about(a) || about(b))) continue;
          const left = r() < 0.5;
          out.push(q(left ? P.leftOf : P.rightOf, { a: name(a), b: name(b) }, (left ? a.x < b.x : a.x > b.x) ? 'yes' : 'no'));
        }
      for (const a of anchors()) {
        const others = sh.filter((s) => s !== a);
        const lefts = others.filter((s) => s.x < a.x),
          rights = others.filter((s) => s.x > a.x);
        if (lefts.length === 1) out.push(q(P.whichLeft, { a: name(a) }, lefts[0].kind));
        if (rights.length === 1) out.push(q(P.whichRight, { a: name(a) }, rights[0].kind));
      }
      break;
    }
    case 'side':
      for (const a of uniqueCombo.filter(about))
        if (Math.abs(a.x - SCENE_SIZE / 2) >= MIN_SIDE) out.push(q(P.side, { a: name(a) }, a.x < SCENE_SIZE / 2 ? 'left' : 'right'));
      break;
    case 'caption':
      out.push(q(P.caption, {}, listed(sh)));
      break;
    case 'list':
      for (const a of anchors()) {
        const others = sh.filter((s) => s !== a);
        const left = r() < 0.5;
        const side = others.filter((s) => (left ? s.x < a.x : s.x > a.x));
        out.push(q(left ? P.listLeft : P.listRight, { a: name(a) }, side.length ? listed(side) : 'none'));
      }
      break;
  }
  return out;
}

const ALL_TYPES: readonly QuestionType[] = QUESTION_TYPES;

/**
 * `count` samples of one split, drawn from the seed: a scene, its pixels and up to `perScene`
 * questions of different types (one per type when the scene allows it, in random order).
 * Training images never hold a held-out combination and never use a held-out phrasing.
 * variety (training only): the chance that a shape's kind, and apart its colour, is drawn from
 * the extra ones as well (EXTRA_KINDS, EXTRA_COLOURS); 0, the default, draws the contract's only.
 * countPresent (training only): the chance that "How many blue shapes / circles are there?" asks
 * about the colour and the kind of a shape in the scene rather than any of the palette's (as the
 * eval splits do: 0, the default).
 */
export function generateShapes(o: {
  seed: number;
  count: number;
  split: ShapesSplit;
  perScene?: number;
  types?: readonly QuestionType[];
  variety?: number;
  countPresent?: number;
}): ShapesSample[] {
  if (!(Number.isInteger(o.count) && o.count >= 0)) throw new RangeError(`shapes: count must be a non-negative integer, got ${o.count}`);
  const variety = o.variety ?? 0;
  if (!(variety >= 0 && variety <= 1)) throw new RangeError(`shapes: variety must be in [0, 1], got ${o.variety}`);
  if (variety && o.split !== 'train') throw new RangeError(`shapes: variety is for the train split only, not ${o.split}`);
  const countPresent = o.countPresent ?? 0;
  if (!(countPresent >= 0 && countPresent <= 1)) throw new RangeError(`shapes: countPresent must be in [0, 1], got ${o.countPresent}`);
  if (countPresent && o.split !== 'train') throw new RangeError(`shapes: countPresent is for the train split only, not ${o.split}`);
  const palette = widePalette(variety);
  for (const t of o.types ?? [])
    if ((TRAINING_TYPES as readonly string[]).includes(t) && o.split !== 'train')
      throw new RangeError(`shapes: ${t} questions are for the train split only, not ${o.split}`);
  const r = seededRandom(o.seed, `${SHAPES_TASK}:${o.split}`);
  const types = o.types ?? ALL_TYPES;
  const seenOnly = (c: ShapeColour, k: ShapeKind) => !heldOutCombo(c, k);
  // Training phrasings are all but the last; the phrasing split uses only the last.
  const phr = (n: number) => (o.split === 'phrasing' ? n - 1 : Math.floor(r() * (n - 1)));
  const out: ShapesSample[] = [];
  while (out.length < o.count) {
    let scene: Scene;
    let focus: Shape | null = null;
    if (o.split === 'unseen') {
      const [c, k] = pick(r, HELD_OUT_COMBOS);
      scene = randomScene(r, (cc, kk) => !heldOutCombo(cc, kk) || (cc === c && kk === k));
      focus = scene.shapes.find((s) => s.colour === c && s.kind === k) ?? null;
      if (!focus) continue;
    } else scene = randomScene(r, seenOnly, undefined, palette);
    const questions: ShapesQuestion[] = [];
    for (const t of [...types].sort(() => r() - 0.5)) {
      const qs = questionsOf(scene, t, phr, r, focus, palette, countPresent);
      if (qs.length) questions.push(pick(r, qs));
      if (questions.length === (o.perScene ?? types.length)) break;
    }
    if (!questions.length) continue;
    out.push({ scene, rgb: renderScene(scene, o.split === 'train' ? r : undefined), questions, split: o.split });
  }
  return out;
}

/** A scene's RGB bytes to the model's input, size x size (pixels.ts: block average or bilinear). */
export function rgbToPixels(rgb: Uint8Array, size = SCENE_SIZE, S = SCENE_SIZE): Float32Array {
  return toPixels(rgb, S, 3, size);
}

/**
 * A sample as a conversation: the image and the first question (the question first when
 * textFirst, as OpenAI's examples send it), then one turn per further question. The image part
 * carries its pixels (the model's input, size x size) for training and local evals.
 */
export function shapesConversation(s: ShapesSample, upTo = s.questions.length, size = SCENE_SIZE, textFirst = false): ChatMessage[] {
  const pixels = rgbToPixels(s.rgb, size);
  return s.questions.slice(0, upTo).flatMap((q, i): ChatMessage[] => [
    { role: 'user', content: i === 0 ? imageAndText(pixels, q.question, textFirst) : q.question },
    { role: 'assistant', content: q.answer },
  ]);
}

/** A user turn's parts: the image and the question, in the order asked. */
export function imageAndText(pixels: Float32Array, text: string, textFirst = false): ChatPart[] {
  const image: ChatPart = { type: 'image', pixels },
    question: ChatPart = { type: 'text', text };
  return textFirst ? [question, image] : [image, question];
}
