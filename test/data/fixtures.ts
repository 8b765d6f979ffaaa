// Small source trees in the installed packages' formats, written by the tests themselves (all
// text here is made up for the tests).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function tempDir(prefix = 'tetra-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function put(root: string, rel: string, data: string | Buffer): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function b64(n: number): string {
  let s = '';
  do {
    s = B64[n % 64] + s;
    n = Math.floor(n / 64);
  } while (n > 0);
  return s;
}

/** A dictd database (.index + gzip .dict.dz) from headword -> entry text. */
export function writeDictd(root: string, name: string, entries: [string, string][]): void {
  let dict = '';
  const index: string[] = [];
  for (const [head, text] of [['00-database-info', 'fixture database'] as [string, string], ...entries]) {
    const off = Buffer.byteLength(dict);
    dict += text;
    index.push(`${head}\t${b64(off)}\t${b64(Buffer.byteLength(text))}`);
  }
  put(root, `usr/share/dictd/${name}.index`, index.join('\n') + '\n');
  put(root, `usr/share/dictd/${name}.dict.dz`, gzipSync(Buffer.from(dict)));
}

/** WordNet data files in the wndb format: a licence-like header line then synset lines. */
export const WORDNET_NOUNS = [
  '00000100 03 n 01 thing 0 000 | a made-up root concept for tests',
  '00000200 05 n 02 quadruped 0 four-footed_beast 0 001 @ 00000100 n 0000 | an animal in a test that walks on four legs; "the quadruped crossed the field"',
  '00000300 05 n 02 wolfhound 0 hound_of_wolves 0 001 @ 00000200 n 0000 | a tall hunting dog invented for this fixture',
  '00000400 05 n 01 glimmerfish 0 001 @ 00000100 n 0000 | a fish that glows faintly, made up for tests; "a glimmerfish lit the pond"',
  '00000500 06 n 02 teapot 0 tea_kettle 0 001 @ 00000100 n 0000 | a pot in which tea is brewed in this fixture',
  '00000600 06 n 01 lantern 0 001 @ 00000100 n 0000 | a lamp with a protective case, as defined for tests',
];
export const WORDNET_VERBS = [
  '00000700 29 v 01 sprint 0 000 | run very fast for a short distance, in test words; "she sprinted home"',
  '00000800 29 v 02 stroll 0 amble 0 000 | walk slowly for pleasure, in test words',
];
export function writeWordNet(dir: string): void {
  const header = '  1 This is a fixture written by tetra tests.  \n';
  put(dir, 'data.noun', header + WORDNET_NOUNS.join('  \n') + '  \n');
  put(dir, 'data.verb', header + WORDNET_VERBS.join('  \n') + '  \n');
  put(dir, 'data.adj', header);
  put(dir, 'data.adv', header);
}

const LONG_FORTUNE =
  'The fixture said: a watched test never fails, and a flaky test never fails while anyone is looking, but both of them fail together the moment the change is merged into main on a quiet Friday';

/** A fixture root with wordnet, devil (dictd), fortunes, man and python-doc sources. */
export function writeSourceTree(root: string): void {
  writeWordNet(join(root, 'wordnet/dict'));
  writeDictd(root, 'devil', [
    ['KETTLE', 'KETTLE, n.  A vessel that sings before it weeps, according to this made-up fixture.'],
    ['LADDER', 'LADDER, n.  A staircase that has given up on the idea of walls, in this fixture.'],
    ['LADDERS', 'LADDER, n.  A staircase that has given up on the idea of walls, in this fixture.'], // exact duplicate entry text
    ['MOON', 'MOON, n.  The lamp the night forgot to switch off; entry written for the tests here.'],
  ]);
  put(
    root,
    'usr/share/games/fortunes/testing',
    [
      `${LONG_FORTUNE} afternoon.`,
      `${LONG_FORTUNE} evening.`, // near duplicate: 40 words, one differs (Jaccard 35/37)
      'Short.',
      'Every build is reproducible once, and every bug is reproducible never, says the fixture.',
    ].join('\n%\n') + '\n',
  );
  put(
    root,
    'usr/share/man/man1/widget.1.gz',
    gzipSync(
      '.TH WIDGET 1\n.SH NAME\nwidget \\- makes widgets for the tests\n.SH DESCRIPTION\n.B widget\nturns \\fIgears\\fR into widgets.\n',
    ),
  );
  put(root, 'usr/share/man/man1/gadget.1.gz', gzipSync('.so man1/widget.1\n'));
  put(
    root,
    'usr/share/doc/python3.11/html/_sources/intro.rst.txt',
    'Introduction\n============\n\nThis page uses ``code`` and :func:`len` in a made-up fixture.\r\n',
  );
}
