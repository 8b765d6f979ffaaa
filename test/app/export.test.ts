// Conversation export (src/app/export.ts): only the branch on show, Markdown sections, the JSON
// shape with its branch count, and file names safe in a quoted Content-Disposition.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { branchCount, conversationJson, conversationMarkdown, exportFileName } from '../../src/app/export.ts';
import { AppStore } from '../../src/app/store.ts';

function sample() {
  const store = new AppStore(':memory:');
  const u = store.localUser('default');
  const c = store.createConversation(u.id, { title: 'Export me', model: 'tetra-1', system: 'Be brief.' });
  const add = (parentId: string | null, role: 'user' | 'assistant', content: string, images = 0) =>
    store.addMessage(u.id, c.id, {
      parentId,
      role,
      content,
      images: Array.from({ length: images }, () => ({ mime: 'image/png', data: new Uint8Array([1]) })),
    });
  const q1 = add(null, 'user', 'set x', 2);
  const a1 = add(q1.id, 'assistant', 'Sure: `x = 1`');
  const old = add(a1.id, 'user', 'old branch question');
  add(old.id, 'assistant', 'old branch answer');
  const q2 = add(a1.id, 'user', 'new branch question');
  const a2 = add(q2.id, 'assistant', 'partial');
  store.finishMessage(a2.id, { content: 'partial', status: 'stopped' });
  return store.getConversation(u.id, c.id)!;
}

describe('conversation export', () => {
  it('writes the branch on show as Markdown: title, system, User and Assistant sections, images noted', () => {
    const md = conversationMarkdown(sample());
    assert.equal(
      md,
      [
        '# Export me',
        'Model: tetra-1',
        '**System**',
        'Be brief.',
        '**User**',
        'set x',
        '[image]',
        '[image]',
        '**Assistant**',
        'Sure: `x = 1`',
        '**User**',
        'new branch question',
        '**Assistant**',
        'partial',
        '_(stopped)_',
      ].join('\n\n') + '\n',
    );
    assert.ok(!md.includes('old branch'));
  });

  it('writes JSON with the conversation fields, the path and the number of branches', () => {
    const d = sample();
    const j = conversationJson(d);
    assert.deepEqual(
      { ...j, messages: j.messages.map((m) => m.content) },
      {
        id: d.conversation.id,
        title: 'Export me',
        model: 'tetra-1',
        system: 'Be brief.',
        createdAt: d.conversation.createdAt,
        updatedAt: d.conversation.updatedAt,
        currentLeafId: d.conversation.currentLeafId,
        branches: 2,
        messages: ['set x', 'Sure: `x = 1`', 'new branch question', 'partial'],
      },
    );
    assert.equal(j.messages[0].images.length, 2);
    assert.equal(j.messages[3].status, 'stopped');
    const empty = { conversation: { ...d.conversation, currentLeafId: null }, messages: [] };
    assert.equal(branchCount(empty), 0);
    assert.deepEqual(conversationJson(empty).messages, []);
    assert.equal(conversationMarkdown(empty), '# Export me\n\nModel: tetra-1\n\n**System**\n\nBe brief.\n');
  });

  it('makes ASCII file names', () => {
    assert.equal(exportFileName('Export me', 'md'), 'Export-me.md');
    assert.equal(exportFileName('Café "déjà vu" / notes\\2024', 'json'), 'Cafe-deja-vu-notes-2024.json');
    assert.equal(exportFileName('你好', 'md'), 'conversation.md');
    assert.equal(exportFileName('../../etc/passwd', 'md'), 'etc-passwd.md');
    assert.equal(exportFileName('x'.repeat(300), 'md'), `${'x'.repeat(80)}.md`);
    assert.throws(() => exportFileName('a', 'm"d'), /export extension/);
  });
});
