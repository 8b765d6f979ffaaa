// Instruction following: the system message changes the style of the answer or the task
// itself, and the ideal answer follows it exactly.
//
// Styles (same question, different system message):
//   (none)                                  user: What is 7 + 5?   assistant: 7 + 5 is 12.
//   "Answer in one word."                   ...                    assistant: twelve
//   "Answer in uppercase."                  ...                    assistant: 7 + 5 IS 12.
//   "Answer as JSON ..."                    ...                    assistant: {"answer":12}
//   "Answer in French."                     ...                    assistant: 7 plus 5 font douze.
// Task changes (the system message overrides what the user asks):
//   "Reply with the user's message reversed, character by character."
//                                           user: What is 7 + 5?   assistant: ?5 + 7 si tahW
//   "Reply only with the number of words in the user's message."
//                                           user: What is 7 + 5?   assistant: 5
// Questions are additions of small numbers and word questions (letter count, first letter,
// spelling backwards). The problem key is the question: a held-out question is never seen in
// training under any system message. Each system message is said five ways (SYSTEM_PHRASINGS);
// the last way is held out of training altogether, so an eval on it measures whether the model
// follows an instruction worded as it never saw, not a string it memorised.
import { collect, pick, randInt, sample, seededRandom, type ChatMessage, type GenerateOptions, type SyntheticSample } from './common.ts';

export const INSTRUCTIONS_TASK = 'instructions';

export const STYLES = ['plain', 'one-word', 'uppercase', 'json', 'french', 'reverse', 'count-words'] as const;
export type InstructionStyle = (typeof STYLES)[number];

export const SYSTEM_MESSAGES: Record<Exclude<InstructionStyle, 'plain'>, string> = {
  'one-word': 'Answer in one word.',
  uppercase: 'Answer in uppercase.',
  json: 'Answer as JSON: an object with the single key "answer".',
  french: 'Answer in French.',
  reverse: "Reply with the user's message reversed, character by character.",
  'count-words': "Reply only with the number of words in the user's message.",
};

/**
 * Ways to say each system message: the first is SYSTEM_MESSAGES', the last is held out (it never
 * appears in training data). Every held-out wording shares a key word with a training one (French,
 * JSON, uppercase, one word, reversed, word count): unseen wording, not an unseen concept.
 */
export const SYSTEM_PHRASINGS: Record<Exclude<InstructionStyle, 'plain'>, string[]> = {
  'one-word': [
    SYSTEM_MESSAGES['one-word'],
    'Reply with a single word.',
    'Respond using just one word.',
    'Give a one-word answer.',
    'Use only one word in your reply.',
  ],
  uppercase: [
    SYSTEM_MESSAGES.uppercase,
    'Write your answer in capital letters.',
    'Reply using only capital letters.',
    'Respond in all caps.',
    'Use uppercase letters for your whole reply.',
  ],
  json: [
    SYSTEM_MESSAGES.json,
    'Reply with a JSON object whose only key is "answer".',
    'Respond in JSON, as {"answer": ...}.',
    'Format the reply as JSON with one field, "answer".',
    'Return only JSON: {"answer": <your answer>}.',
  ],
  french: [
    SYSTEM_MESSAGES.french,
    'Reply in French.',
    'Respond in the French language.',
    'Give your answer in French.',
    'Please write your reply in French.',
  ],
  reverse: [
    SYSTEM_MESSAGES.reverse,
    "Write the user's message backwards, one character at a time.",
    "Respond with the user's text in reverse character order.",
    "Reverse the user's message character by character and reply with that.",
    "Echo the user's message back reversed, letter by letter.",
  ],
  'count-words': [
    SYSTEM_MESSAGES['count-words'],
    "Respond with just the count of words in the user's message.",
    "Count the words in the user's message and reply with that number only.",
    "Say only how many words the user's message has.",
    "Give nothing but the word count of the user's message.",
  ],
};

export interface InstructionOptions extends GenerateOptions {
  /** Words for the word questions (default: a built-in list of common English words). */
  words?: string[];
  styles?: InstructionStyle[];
  /** System messages in training wordings (default) or in the held-out wording only. */
  phrasings?: 'train' | 'held-out';
}

export interface InstructionSample extends SyntheticSample {
  style: InstructionStyle;
}

// Our own list of common words (lowercase letters only).
export const COMMON_WORDS = (
  'apple river garden window orange planet silver morning pencil candle forest bridge engine summer winter yellow purple doctor ' +
  'teacher market castle dragon rocket guitar island jacket kitten ladder mirror needle ocean pepper rabbit saddle tomato violin ' +
  'wallet zipper anchor basket butter carpet cookie dinner finger hammer helmet jungle kettle lemon monkey napkin parrot pillow ' +
  'puzzle rainbow shadow spider stable sunset ticket tunnel valley wizard bottle button camera cotton desert feather flower ' +
  'ginger harbor hockey insect lantern magnet meadow museum noodle oyster pebble pirate pocket pumpkin quilt ribbon saucer ' +
  'scarf shovel sponge statue tiger turtle unicorn velvet walnut whistle yogurt blanket chimney compass cushion diamond ' +
  'elephant festival giraffe horizon iceberg kingdom library mountain notebook painter question sandwich'
).split(' ');

const EN_ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const EN_TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
/** English words for 0..999 ("forty-two", "three hundred and five"). */
export function englishNumber(n: number): string {
  if (!(Number.isInteger(n) && n >= 0 && n < 1000)) throw new RangeError(`englishNumber: ${n} is outside 0..999`);
  if (n < 20) return EN_ONES[n];
  if (n < 100) return EN_TENS[Math.floor(n / 10)] + (n % 10 ? `-${EN_ONES[n % 10]}` : '');
  return `${EN_ONES[Math.floor(n / 100)]} hundred${n % 100 ? ` and ${englishNumber(n % 100)}` : ''}`;
}

const FR_ONES = [
  'zéro',
  'un',
  'deux',
  'trois',
  'quatre',
  'cinq',
  'six',
  'sept',
  'huit',
  'neuf',
  'dix',
  'onze',
  'douze',
  'treize',
  'quatorze',
  'quinze',
  'seize',
  'dix-sept',
  'dix-huit',
  'dix-neuf',
];
const FR_TENS = ['', '', 'vingt', 'trente', 'quarante', 'cinquante', 'soixante'];
/** French words for 0..999 (traditional spelling: "vingt et un", "soixante-dix", "quatre-vingts"). */
export function frenchNumber(n: number): string {
  if (!(Number.isInteger(n) && n >= 0 && n < 1000)) throw new RangeError(`frenchNumber: ${n} is outside 0..999`);
  if (n < 20) return FR_ONES[n];
  if (n < 100) {
    const t = Math.floor(n / 10),
      u = n % 10;
    if (t === 7 || t === 9) return `${t === 7 ? 'soixante' : 'quatre-vingt'}${u === 1 && t === 7 ? ' et ' : '-'}${FR_ONES[10 + u]}`;
    if (t === 8) return u ? `quatre-vingt-${FR_ONES[u]}` : 'quatre-vingts';
    return FR_TENS[t] + (u === 1 ? ' et un' : u ? `-${FR_ONES[u]}` : '');
  }
  const h = Math.floor(n / 100),
    rest = n % 100;
  const head = h === 1 ? 'cent' : `${FR_ONES[h]} cent${rest ? '' : 's'}`;
  return rest ? `${head} ${frenchNumber(rest)}` : head;
}

// "one hundred and five" is not one word: from 100 up the numeral is the one-word answer.
const oneWordNumber = (n: number): string => (n < 100 ? englishNumber(n) : String(n));

export interface Question {
  key: string;
  text: string;
  answer: string | number;
  sentence: string;
  french: string;
  oneWord: string;
}

function question(r: () => number, words: string[]): Question {
  const k = randInt(r, 0, 3);
  if (k === 0) {
    const a = randInt(r, 0, 99),
      b = randInt(r, 0, 99),
      s = a + b;
    return {
      key: `add:${a}+${b}`,
      text: `What is ${a} + ${b}?`,
      answer: s,
      sentence: `${a} + ${b} is ${s}.`,
      french: `${a} plus ${b} font ${frenchNumber(s)}.`,
      oneWord: oneWordNumber(s),
    };
  }
  const w = pick(r, words);
  if (k === 1)
    return {
      key: `len:${w}`,
      text: `How many letters are in the word "${w}"?`,
      answer: w.length,
      sentence: `The word "${w}" has ${w.length} letters.`,
      french: `Le mot « ${w} » a ${frenchNumber(w.length)} lettres.`,
      oneWord: englishNumber(w.length),
    };
  if (k === 2)
    return {
      key: `first:${w}`,
      text: `What is the first letter of the word "${w}"?`,
      answer: w[0],
      sentence: `The first letter of "${w}" is ${w[0]}.`,
      french: `La première lettre de « ${w} » est ${w[0]}.`,
      oneWord: w[0],
    };
  const rev = [...w].reverse().join('');
  return {
    key: `rev:${w}`,
    text: `Spell the word "${w}" backwards.`,
    answer: rev,
    sentence: `"${w}" spelled backwards is ${rev}.`,
    french: `« ${w} » à l'envers s'écrit ${rev}.`,
    oneWord: rev,
  };
}

export function answerFor(style: InstructionStyle, q: Question): string {
  switch (style) {
    case 'plain':
      return q.sentence;
    case 'one-word':
      return q.oneWord;
    case 'uppercase':
      return q.sentence.toUpperCase();
    case 'json':
      return JSON.stringify({ answer: q.answer });
    case 'french':
      return q.french;
    case 'reverse':
      return [...q.text].reverse().join('');
    case 'count-words':
      return String(q.text.split(/\s+/).filter(Boolean).length);
  }
}

/**
 * Whether a reply has the form the style's system message asks for (right or wrong): one word,
 * no lower-case letters, a JSON object with the single key "answer", one of the French answer
 * forms, the user's message written backwards, a bare number. The system-message adherence the
 * evals measure; whether the reply is also right is a separate exact match.
 */
export function followsStyle(style: InstructionStyle, user: string, reply: string): boolean {
  const r = reply.trim();
  if (!r) return false;
  switch (style) {
    case 'plain':
      return true;
    case 'one-word':
      return /^[\p{L}\d'-]+\.?$/u.test(r);
    case 'uppercase':
      return /\p{Lu}/u.test(r) && r === r.toUpperCase();
    case 'json':
      try {
        const v = JSON.parse(r);
        return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'answer';
      } catch {
        return false;
      }
    case 'french':
      return /^(.+ plus .+ font .+|Le mot « .+ » a .+ lettres?|La première lettre de « .+ » est .+|« .+ » à l'envers s'écrit .+)\.$/u.test(
        r,
      );
    case 'reverse': {
      // Written backwards: it opens with the message's last character and closes with its first
      // word reversed ("?21 + 7 si tahW"), whether or not every character in between is right.
      const u = user.trim();
      const first = [...(u.split(/\s+/)[0] ?? '')].reverse().join('');
      return u.length > 0 && r.startsWith([...u].at(-1)!) && r.endsWith(first) && r.length > first.length;
    }
    case 'count-words':
      return /^\d+$/.test(r);
  }
}

export function generateInstructions(o: InstructionOptions): InstructionSample[] {
  const words = (o.words ?? COMMON_WORDS).filter((w) => /^[a-z]+$/.test(w));
  if (!words.length) throw new RangeError('instructions: no usable words (lowercase letters only)');
  const styles = o.styles ?? [...STYLES];
  const r = seededRandom(o.seed, INSTRUCTIONS_TASK);
  const heldOut = o.phrasings === 'held-out';
  return collect(o.count, o.split, INSTRUCTIONS_TASK, () => {
    const q = question(r, words);
    const style = pick(r, styles);
    const input: ChatMessage[] = [];
    if (style !== 'plain') {
      const ways = SYSTEM_PHRASINGS[style];
      input.push({ role: 'system', content: heldOut ? ways[ways.length - 1] : pick(r, ways.slice(0, -1)) });
    }
    input.push({ role: 'user', content: q.text });
    return { ...sample(INSTRUCTIONS_TASK, q.key, input, answerFor(style, q)), style };
  });
}
