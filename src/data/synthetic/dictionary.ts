// Dictionary and fact questions built from WordNet records: definitions, hypernyms ("is a kind
// of") and synonyms. Answers come straight from the records, so they are right by construction.
//
// Example (a noun synset "dog, domestic dog" whose hypernym is "canine"):
//   user:      What does the word "dog" mean?   (or: Define "dog". / What is a dog? / ...)
//   assistant: a member of the genus Canis that has been domesticated by man since prehistoric times
//   user:      A dog is a kind of what?
//   assistant: canine
//   user:      Give a synonym of "domestic dog".
//   assistant: dog
// The problem key is the question's word: every question about one word lands in one split,
// so an eval word is never defined, classified or paraphrased in training.
import type { WordNetSynset } from '../wordnet.ts';
import { collect, pick, sample, seededRandom, type GenerateOptions, type SyntheticSample } from './common.ts';

export const DICTIONARY_TASK = 'dictionary';
export type DictionaryKind = 'definition' | 'hypernym' | 'synonym';

export interface DictionaryOptions extends GenerateOptions {
  synsets: WordNetSynset[];
  kinds?: DictionaryKind[];
}

const article = (w: string): string => (/^[aeiou]/i.test(w) ? 'an' : 'a');

/** The ways a definition is asked for (people ask "What is a kiwi?" as often as "What does ... mean?"). */
export function definitionQuestions(word: string, pos: string): string[] {
  const out = [
    `What does the ${pos === 'noun' || pos === 'verb' ? pos : 'word'} "${word}" mean?`,
    `Define "${word}".`,
    `What is the meaning of "${word}"?`,
  ];
  if (pos === 'noun') out.push(`What is ${article(word)} ${word}?`);
  return out;
}

export function generateDictionary(o: DictionaryOptions): SyntheticSample[] {
  const kinds = o.kinds ?? ['definition', 'hypernym', 'synonym'];
  // Multi-sense words would have several right answers: questions use only lemmas with one
  // sense (within their part of speech), so the ideal answer is unique.
  const senses = new Map<string, number>();
  for (const s of o.synsets)
    for (const l of s.lemmas) senses.set(`${s.pos}:${l.toLowerCase()}`, (senses.get(`${s.pos}:${l.toLowerCase()}`) ?? 0) + 1);
  const byOffset = new Map<string, WordNetSynset>();
  for (const s of o.synsets) byOffset.set(`${s.pos}:${s.offset}`, s);
  const usable = o.synsets.filter((s) => s.definition && s.lemmas.some((l) => senses.get(`${s.pos}:${l.toLowerCase()}`) === 1));
  if (!usable.length) throw new RangeError('dictionary: no synset with a single-sense lemma and a definition in the input');
  const r = seededRandom(o.seed, DICTIONARY_TASK);

  return collect(o.count, o.split, DICTIONARY_TASK, () => {
    const s = pick(r, usable);
    const word = pick(
      r,
      s.lemmas.filter((l) => senses.get(`${s.pos}:${l.toLowerCase()}`) === 1),
    );
    const kind = pick(r, kinds);
    const key = word.toLowerCase();
    if (kind === 'definition') {
      return sample(DICTIONARY_TASK, key, [{ role: 'user', content: pick(r, definitionQuestions(word, s.pos)) }], s.definition);
    }
    if (kind === 'hypernym') {
      const h = s.hypernyms.map((off) => byOffset.get(`${s.pos}:${off}`)).find((x) => x !== undefined);
      if (!h || s.pos !== 'noun') return null;
      return sample(
        DICTIONARY_TASK,
        key,
        [{ role: 'user', content: `${article(word)[0].toUpperCase()}${article(word).slice(1)} ${word} is a kind of what?` }],
        h.lemmas[0],
      );
    }
    const others = s.lemmas.filter((l) => l.toLowerCase() !== key);
    if (!others.length) return null;
    return sample(DICTIONARY_TASK, key, [{ role: 'user', content: `Give a synonym of "${word}".` }], others[0]);
  });
}
