// The store's pure text rules (src/app/text.ts): query terms, FTS5 quoting, LIKE escaping,
// snippets and automatic titles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containsAll, ftsQuery, likePattern, searchTerms, snippet, titleFrom } from '../../src/app/text.ts';

describe('search text', () => {
  it('splits a query into distinct terms, dropping control characters, 16 at most', () => {
    assert.deepEqual(searchTerms('  Hello   hello\tworld\n'), ['Hello', 'world']);
    assert.deepEqual(searchTerms('a\u0000b'), ['a', 'b']);
    assert.deepEqual(searchTerms(''), []);
    assert.equal(searchTerms(Array.from({ length: 30 }, (_, i) => `t${i}`).join(' ')).length, 16);
    assert.equal([...searchTerms('😀'.repeat(300))[0]].length, 200);
  });

  it('quotes every term as an FTS5 string, doubling quotes', () => {
    assert.equal(ftsQuery(['NOT', 'a"b', 'x*']), '"NOT" AND "a""b" AND "x*"');
  });

  it('escapes LIKE wildcards and the escape character', () => {
    assert.equal(likePattern('100%_\\x'), '%100\\%\\_\\\\x%');
    assert.equal(likePattern('plain'), '%plain%');
  });

  it('requires every term, ignoring case', () => {
    assert.equal(containsAll('The Quick Fox', ['quick', 'FOX']), true);
    assert.equal(containsAll('The Quick Fox', ['quick', 'dog']), false);
  });

  it('shows the whole text when short, and marks cuts with …', () => {
    assert.equal(snippet('short  text\nhere', ['text']), 'short text here');
    const long = `${'a'.repeat(200)}MATCH${'b'.repeat(200)}`;
    const s = snippet(long, ['match']);
    assert.ok(s.startsWith('…') && s.endsWith('…') && s.includes('MATCH'), s);
    assert.equal(s.length, 82);
    assert.equal(snippet(`match${'c'.repeat(200)}`, ['match']).slice(0, 6), 'matchc', 'no … at the start when nothing was cut');
  });
});

describe('titleFrom', () => {
  it('takes the first non-empty line, collapsed, up to 60 characters, cut at a word', () => {
    assert.equal(titleFrom('\n  hello   world \nmore'), 'hello world');
    assert.equal(titleFrom('   \n\t'), null);
    assert.equal(titleFrom('x'.repeat(60)), 'x'.repeat(60));
    assert.equal(titleFrom('x'.repeat(61)), `${'x'.repeat(59)}…`);
    assert.equal(titleFrom(`${'word '.repeat(11)}tail, and more words here`), `${'word '.repeat(11).trim()}…`);
    assert.equal(titleFrom(`${'a'.repeat(50)}, ${'b'.repeat(20)}`), `${'a'.repeat(50)}…`, 'no trailing comma before …');
  });
});
