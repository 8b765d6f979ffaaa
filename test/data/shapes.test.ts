// The shapes scene set (src/data/synthetic/shapes.ts): scenes obey the published contract,
// answers are true of the scene, and the held-out splits are held out.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateShapes,
  HELD_OUT_COMBOS,
  renderScene,
  rgbToPixels,
  SCENE_SIZE,
  COLOUR_NAMES,
  EXTRA_COLOURS,
  EXTRA_KINDS,
  SHAPE_COLOURS,
  SHAPE_KINDS,
  shapesConversation,
  type ShapesSample,
} from '../../src/data/index.ts';

const held = (c: string, k: string) => HELD_OUT_COMBOS.some(([hc, hk]) => hc === c && hk === k);
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'];
// Every kind and colour, the training-only extra ones (generateShapes' variety) included.
const KINDS = [...SHAPE_KINDS, ...EXTRA_KINDS].join('|'),
  COLOURS = [...COLOUR_NAMES, ...Object.keys(EXTRA_COLOURS)].join('|');

/** Checks every answer against the scene it is about. */
function checkAnswers(s: ShapesSample) {
  const sh = s.scene.shapes;
  for (const { type, question: q, answer: a } of s.questions) {
    const m = (re: RegExp) => re.exec(q);
    if (type === 'colour') {
      const kind = m(new RegExp(`the (${KINDS})`))![1];
      assert.deepEqual(
        sh.filter((x) => x.kind === kind).map((x) => x.colour),
        [a],
        q,
      );
    } else if (type === 'kind') {
      const colour = m(new RegExp(`(${COLOURS})`))![1];
      assert.deepEqual(
        sh.filter((x) => x.colour === colour).map((x) => x.kind),
        [a],
        q,
      );
    } else if (type === 'count') {
      const colour = m(new RegExp(`(${COLOURS})`))?.[1];
      const kind = m(new RegExp(`(${KINDS})(?:es|s)\\b`))?.[1];
      const n = sh.filter((x) => (!colour || x.colour === colour) && (!kind || x.kind === kind)).length;
      assert.equal(a, WORDS[n], q);
    } else if (type === 'exist') {
      const [, colour, kind] = m(new RegExp(`an? (\\w+) (${KINDS})`))!;
      assert.equal(a, sh.some((x) => x.colour === colour && x.kind === kind) ? 'yes' : 'no', q);
    } else if (type === 'relation') {
      const names = [...q.matchAll(new RegExp(`the (\\w+) (${KINDS})`, 'g'))].map(
        ([, c, k]) => sh.find((x) => x.colour === c && x.kind === k)!,
      );
      if (names.length === 2) {
        const left = /left/.test(q);
        assert.equal(a, (left ? names[0].x < names[1].x : names[0].x > names[1].x) ? 'yes' : 'no', q);
        assert.ok(Math.abs(names[0].x - names[1].x) >= 4, `${q}: centres too close to tell`);
      } else {
        const ref = names[0];
        const side = sh.filter((x) => x !== ref && (/left/.test(q) ? x.x < ref.x : x.x > ref.x));
        assert.equal(side.length, 1, q);
        assert.equal(a, side[0].kind, q);
      }
    } else if (type === 'side') {
      const [, c, k] = m(new RegExp(`the (\\w+) (${KINDS})`))!;
      const [x] = sh.filter((y) => y.colour === c && y.kind === k);
      assert.equal(a, x.x < SCENE_SIZE / 2 ? 'left' : 'right', q);
      assert.ok(Math.abs(x.x - SCENE_SIZE / 2) >= 6, `${q}: centre too near the middle`);
    } else if (type === 'caption') {
      assert.equal(a.split(/, | and /).length, sh.length, q);
    } else if (type === 'list') {
      const [, c, k] = m(new RegExp(`the (\\w+) (${KINDS})\\.`))!;
      const ref = sh.find((x) => x.colour === c && x.kind === k)!;
      const left = /left/.test(q);
      const side = sh.filter((x) => x !== ref && (left ? x.x < ref.x : x.x > ref.x)).sort((x, y) => x.x - y.x);
      const words = side.map((x) => `${x.colour === 'orange' ? 'an' : 'a'} ${x.colour} ${x.kind}`);
      assert.equal(a, words.length ? words.join(', ').replace(/, ([^,]*)$/, ' and $1') : 'none', q);
      for (const x of sh) if (x !== ref) assert.ok(Math.abs(x.x - ref.x) >= 4, `${q}: a shape too near to tell`);
    }
  }
}

describe('the shapes scene set', () => {
  const train = generateShapes({ seed: 3, count: 300, split: 'train' });

  it('draws 1 to 6 shapes 10-20 px across, inside the image, never overlapping', () => {
    const counts = new Set<number>();
    for (const s of train) {
      counts.add(s.scene.shapes.length);
      for (const [i, a] of s.scene.shapes.entries()) {
        assert.ok(a.size >= 10 && a.size <= 20);
        assert.ok(a.x - a.size / 2 >= 0 && a.x + a.size / 2 <= SCENE_SIZE && a.y - a.size / 2 >= 0 && a.y + a.size / 2 <= SCENE_SIZE);
        for (const b of s.scene.shapes.slice(i + 1))
          assert.ok(Math.abs(a.x - b.x) >= (a.size + b.size) / 2 || Math.abs(a.y - b.y) >= (a.size + b.size) / 2, 'overlap');
      }
    }
    assert.deepEqual([...counts].sort(), [1, 2, 3, 4, 5, 6]);
  });

  it('answers every question truly, one lowercase word (captions aside), in English articles ("an orange")', () => {
    let an = 0;
    for (const split of ['train', 'seen', 'unseen', 'phrasing'] as const)
      for (const s of split === 'train' ? train : generateShapes({ seed: 4, count: 150, split })) {
        checkAnswers(s);
        for (const q of s.questions) {
          if (q.type !== 'caption') assert.match(q.answer, /^[a-z]+$/);
          assert.doesNotMatch(`${q.question} ${q.answer}`, /\ba [aeiou]/i);
          if (/\ban orange\b/.test(q.question)) an++;
        }
      }
    assert.ok(an > 0, 'some question names an orange shape');
  });

  it('keeps the held-out colour-shape combinations out of training images, and puts one in each unseen scene, asked about', () => {
    for (const s of train) for (const x of s.scene.shapes) assert.ok(!held(x.colour, x.kind), `${x.colour} ${x.kind} in training`);
    for (const s of generateShapes({ seed: 5, count: 100, split: 'unseen' })) {
      const focus = s.scene.shapes.filter((x) => held(x.colour, x.kind));
      assert.ok(focus.length >= 1 && new Set(focus.map((x) => `${x.colour} ${x.kind}`)).size === 1);
      const name = `${focus[0].colour} ${focus[0].kind}`;
      for (const q of s.questions)
        if (q.type === 'exist' || q.type === 'relation' || q.type === 'side')
          assert.ok(q.question.includes(name) || HELD_OUT_COMBOS.some(([c, k]) => q.question.includes(`${c} ${k}`)), q.question);
    }
  });

  it('never uses a held-out phrasing in training, and only those in the phrasing split', () => {
    const trainQ = new Set(
      train.flatMap((s) => s.questions.map((q) => q.question.replace(/red|green|blue|yellow|orange|purple|black|gray/g, 'C'))),
    );
    const phr = generateShapes({ seed: 6, count: 100, split: 'phrasing' });
    for (const s of phr)
      for (const q of s.questions) {
        const shape = q.question.replace(/red|green|blue|yellow|orange|purple|black|gray/g, 'C');
        assert.ok(!trainQ.has(shape), `held-out phrasing seen in training: ${q.question}`);
      }
    const kinds = new Set(phr.flatMap((s) => s.questions.map((q) => q.type)));
    assert.equal(kinds.size, 7);
  });

  it('renders the exact colour at a shape centre (no jitter), white far from shapes, and is the same for the same seed', () => {
    const [s] = generateShapes({ seed: 7, count: 1, split: 'seen' });
    const rgb = renderScene(s.scene);
    for (const x of s.scene.shapes) {
      const o = (Math.round(x.y + (x.kind === 'triangle' ? 2 : 0)) * SCENE_SIZE + Math.round(x.x)) * 3;
      assert.deepEqual([...rgb.subarray(o, o + 3)], [...SHAPE_COLOURS[x.colour as keyof typeof SHAPE_COLOURS]]);
    }
    assert.deepEqual(rgb, s.rgb);
    assert.deepEqual(generateShapes({ seed: 7, count: 1, split: 'seen' })[0], s);
  });

  it('variety: training shapes of the extra kinds and colours too, answered truly, never a held-out combination', () => {
    const wide = generateShapes({ seed: 9, count: 400, split: 'train', variety: 0.3 });
    const kinds = new Set<string>(),
      colours = new Map<string, Set<string>>(); // colours seen per contract kind
    for (const s of wide) {
      checkAnswers(s);
      for (const x of s.scene.shapes) {
        assert.ok(!held(x.colour, x.kind), `${x.colour} ${x.kind} in training`);
        kinds.add(x.kind);
        if (!colours.has(x.kind)) colours.set(x.kind, new Set());
        colours.get(x.kind)!.add(x.colour);
      }
    }
    assert.deepEqual([...kinds].sort(), [...SHAPE_KINDS, ...EXTRA_KINDS].sort());
    // each contract kind in every colour but its held-out ones: 14 - (held-out combos of that kind)
    for (const k of SHAPE_KINDS)
      assert.equal(colours.get(k)!.size, 14 - HELD_OUT_COMBOS.filter(([, hk]) => hk === k).length, `${k}: ${[...colours.get(k)!]}`);
    // most shapes stay the contract's: variety 0.3 draws each part from the wider list 30% of the time
    const plain = wide.flatMap((s) => s.scene.shapes).filter((x) => (SHAPE_KINDS as readonly string[]).includes(x.kind)).length;
    assert.ok(plain / wide.flatMap((s) => s.scene.shapes).length > 0.75);
    assert.ok(
      wide.some((s) => s.questions.some((q) => q.question.includes('crosses'))),
      'the plural of cross',
    );
    // without it, the contract only; and eval splits never take it
    for (const s of train)
      for (const x of s.scene.shapes) assert.ok((SHAPE_KINDS as readonly string[]).includes(x.kind) && x.colour in SHAPE_COLOURS);
    assert.throws(
      () => generateShapes({ seed: 9, count: 1, split: 'seen', variety: 0.3 }),
      /variety is for the train split only, not seen/,
    );
    assert.throws(() => generateShapes({ seed: 9, count: 1, split: 'train', variety: 2 }), /variety must be in \[0, 1\], got 2/);
  });

  it('countPresent: training count questions ask about a colour the scene has, the seen split about any', () => {
    // The share of "How many blue shapes are there?" and the like answered other than zero.
    const colours = new RegExp(`\\b(${[...COLOUR_NAMES, ...Object.keys(EXTRA_COLOURS)].join('|')})\\b`);
    const nonZero = (split: 'train' | 'seen', countPresent = 0) => {
      const variety = split === 'train' ? 0.3 : 0;
      const scenes = generateShapes({ seed: 12, count: 400, split, types: ['count'], perScene: 1, variety, countPresent });
      for (const s of scenes) checkAnswers(s);
      const qs = scenes.flatMap((s) => s.questions).filter((q) => colours.test(q.question));
      assert.ok(qs.length > 100, `${split}: ${qs.length} questions`);
      return qs.filter((q) => q.answer !== 'zero').length / qs.length;
    };
    const present = nonZero('train', 0.5),
      any = nonZero('train'),
      seen = nonZero('seen');
    assert.ok(present > 0.5, `countPresent 0.5: ${present}`); // half of them, and a few drawn at random: 0.59
    assert.ok(any < 0.35, `train: ${any}`); // 0.27: drawn from the 14 colours, most are absent
    assert.ok(seen < 0.45, `seen: ${seen}`); // 0.38: the palette's 8
    assert.throws(
      () => generateShapes({ seed: 1, count: 1, split: 'unseen', countPresent: 0.5 }),
      /countPresent is for the train split only, not unseen/,
    );
    assert.throws(
      () => generateShapes({ seed: 1, count: 1, split: 'train', countPresent: -1 }),
      /countPresent must be in \[0, 1\], got -1/,
    );
  });

  it('list (training only): the shapes on one side of a named one, left to right, or none', () => {
    const lists = generateShapes({ seed: 10, count: 300, split: 'train', types: ['list', 'colour'], variety: 0.3 });
    const answers = lists.flatMap((s) => s.questions.filter((q) => q.type === 'list').map((q) => q.answer));
    for (const s of lists) checkAnswers(s);
    assert.ok(answers.length > 150, `${answers.length} list questions`);
    assert.ok(answers.includes('none') && answers.some((a) => a.includes(' and ')) && answers.some((a) => /^an? \w+ \w+$/.test(a)));
    for (const split of ['seen', 'unseen', 'phrasing'] as const)
      assert.throws(
        () => generateShapes({ seed: 1, count: 1, split, types: ['list'] }),
        new RegExp(`list questions are for the train split only, not ${split}`),
      );
  });

  it("draws the extra kinds as their shapes: a diamond's corners, a cross's corners and a ring's centre stay white", () => {
    const at = (rgb: Uint8Array, x: number, y: number) => [...rgb.subarray((y * SCENE_SIZE + x) * 3, (y * SCENE_SIZE + x) * 3 + 3)];
    const white = [255, 255, 255],
      pink = [...EXTRA_COLOURS.pink];
    for (const [kind, centre, edge, corner] of [
      ['diamond', pink, pink, white], // edge: the middle of the right side, 1 px in
      ['cross', pink, pink, white],
      ['ring', white, pink, white],
    ] as const) {
      const rgb = renderScene({ shapes: [{ kind, colour: 'pink', x: 32, y: 32, size: 20 }] });
      assert.deepEqual(at(rgb, 32, 32), centre, `${kind} centre`);
      assert.deepEqual(at(rgb, 40, 32), edge, `${kind} edge`);
      assert.deepEqual(at(rgb, 24, 24), corner, `${kind} corner`);
    }
  });

  it('gives the model any size: blocks averaged when the size divides 64, the same picture either way', () => {
    const [s] = generateShapes({ seed: 8, count: 1, split: 'seen' });
    const full = rgbToPixels(s.rgb),
      small = rgbToPixels(s.rgb, 16),
      odd = rgbToPixels(s.rgb, 48);
    assert.equal(small.length, 16 * 16 * 3);
    let sum = 0;
    for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += full[((20 + dy) * 64 + 28 + dx) * 3 + 1];
    assert.ok(Math.abs(small[(5 * 16 + 7) * 3 + 1] - sum / 16) < 1e-6);
    assert.ok(odd.every((v) => v >= 0 && v <= 1));
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
    assert.ok(Math.abs(mean(odd) - mean(full)) < 0.02 && Math.abs(mean(small) - mean(full)) < 1e-4);
  });

  it('makes a conversation: the image with the first question, then one turn per question', () => {
    const s = train[0];
    const msgs = shapesConversation(s);
    assert.equal(msgs.length, 2 * s.questions.length);
    const first = msgs[0].content as { type: string; pixels?: Float32Array }[];
    assert.equal(first[0].type, 'image');
    assert.equal(first[0].pixels!.length, SCENE_SIZE * SCENE_SIZE * 3);
    assert.ok(first[0].pixels!.every((v) => v >= 0 && v <= 1));
    assert.equal(msgs[1].content, s.questions[0].answer);
  });
});
