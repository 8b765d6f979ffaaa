// The chat store (src/app/store.ts): users and sign-in, sessions with an injected clock,
// conversation trees (edits, regenerations, branch switching), search with hostile queries,
// attachments, cascades, and isolation: another user's ids behave exactly like missing ones.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { AppStore, AppStoreError, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../src/app/store.ts';
import type { AppMessage } from '../../src/app/contract.ts';

process.env.TETRA_SCRYPT_LOG2N = '12';

const PW = 'correct horse battery';

function clock(start = Date.parse('2025-01-01T00:00:00Z')) {
  const c = { t: start, now: () => c.t };
  return c;
}

async function twoUsers(now?: () => number) {
  const store = new AppStore(':memory:', { now });
  const alice = await store.createUser('alice', PW, 'default');
  const bob = await store.createUser('bob', PW, 'default');
  return { store, alice, bob };
}

/** user -> assistant -> user -> ... under parent, returning the messages. */
function chain(store: AppStore, userId: string, convId: string, parent: string | null, texts: string[]): AppMessage[] {
  const out: AppMessage[] = [];
  for (const [i, content] of texts.entries()) {
    const m = store.addMessage(userId, convId, { parentId: parent, role: i % 2 === 0 ? 'user' : 'assistant', content });
    out.push(m);
    parent = m.id;
  }
  return out;
}

const count = (store: AppStore, table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const ftsIntact = (store: AppStore) =>
  store.db.prepare("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").run();

/** Runs fn and returns what it threw (or 'no error'), for comparing refusals. */
function thrown(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return `${(e as AppStoreError).code}: ${(e as Error).message}`;
  }
}

describe('AppStore users', () => {
  it('creates users with a scrypt hash, lists them, and refuses duplicates and bad names', async () => {
    const store = new AppStore(':memory:');
    assert.equal(store.hasUsers(), false);
    const u = await store.createUser('alice', PW, 'default');
    assert.match(u.id, /^u_[A-Za-z0-9_-]{16}$/);
    assert.deepEqual({ name: u.name, plan: u.plan }, { name: 'alice', plan: 'default' });
    assert.equal(store.hasUsers(), true);
    const row = store.db.prepare('SELECT pw_hash FROM users WHERE id = ?').get(u.id) as { pw_hash: string };
    assert.match(row.pw_hash, /^scrypt\$12\$8\$1\$/);
    assert.ok(!row.pw_hash.includes(PW));
    const [listed] = store.listUsers();
    assert.deepEqual({ ...listed, createdAt: 'x' }, { id: u.id, name: 'alice', plan: 'default', disabled: false, createdAt: 'x' });
    await assert.rejects(store.createUser('ALICE', PW, 'default'), /user 'ALICE' already exists/);
    for (const bad of ['', 'a b', 'x'.repeat(65), 'émile', 'a/b', 'a"b']) {
      await assert.rejects(store.createUser(bad, PW, 'default'), /user name must be 1 to 64 letters, digits or _ \. - @/, bad);
    }
    await assert.rejects(store.createUser('Local', PW, 'default'), /reserved/);
    await assert.rejects(store.createUser('bob', 'short', 'default'), /password must have 8 to 1024 characters, got 5/);
    await assert.rejects(store.createUser('bob', PW, ''), /plan must be/);
    const ok = await store.createUser('x.y-z_@1', PW, 'gold');
    assert.equal(ok.name, 'x.y-z_@1');
    assert.deepEqual(
      store.listUsers().map((r) => r.name),
      ['alice', 'x.y-z_@1'],
    );
  });

  it('signs in with the right password only, names matched without case, and never as the local user', async () => {
    const store = new AppStore(':memory:');
    const u = await store.createUser('alice', PW, 'default');
    assert.deepEqual(await store.verifyLogin('alice', PW), u);
    assert.deepEqual(await store.verifyLogin('ALICE', PW), u);
    assert.equal(await store.verifyLogin('alice', `${PW}!`), null);
    assert.equal(await store.verifyLogin('nobody', PW), null);
    assert.equal(await store.verifyLogin('bad name', PW), null);
    store.localUser('default');
    assert.equal(await store.verifyLogin('local', PW), null);
    assert.equal(await store.verifyLogin('local', ''), null);
  });

  it('rehashes on sign-in when the hash was made with other parameters', async () => {
    const store = new AppStore(':memory:');
    const u = await store.createUser('alice', PW, 'default');
    const hashOf = () => (store.db.prepare('SELECT pw_hash FROM users WHERE id = ?').get(u.id) as { pw_hash: string }).pw_hash;
    const before = hashOf();
    await store.verifyLogin('alice', PW);
    assert.equal(hashOf(), before, 'same parameters: kept');
    process.env.TETRA_SCRYPT_LOG2N = '13';
    try {
      assert.ok(await store.verifyLogin('alice', PW));
      assert.match(hashOf(), /^scrypt\$13\$/);
      assert.ok(await store.verifyLogin('alice', PW));
      assert.equal(await store.verifyLogin('alice', 'wrong password'), null);
    } finally {
      process.env.TETRA_SCRYPT_LOG2N = '12';
    }
  });

  it('disables (signing out everywhere), enables, changes passwords and plans; unknown names are false', async () => {
    const store = new AppStore(':memory:');
    const u = await store.createUser('alice', PW, 'default');
    const token = store.createSession(u.id);
    assert.equal(store.setDisabled('alice', true), true);
    assert.equal(store.listUsers()[0].disabled, true);
    assert.equal(count(store, 'sessions'), 0);
    assert.equal(store.sessionUser(token), null);
    assert.equal(await store.verifyLogin('alice', PW), null);
    assert.throws(() => store.createSession(u.id), /no user .* that can sign in/);
    assert.equal(store.hasUsers(), true, 'a disabled user still means sign-in is required');
    assert.equal(store.setDisabled('alice', false), true);
    assert.ok(await store.verifyLogin('alice', PW));

    const t2 = store.createSession(u.id);
    assert.equal(await store.setPassword('alice', 'a new password'), true);
    assert.equal(store.sessionUser(t2), null, 'a new password signs the user out');
    assert.equal(await store.verifyLogin('alice', PW), null);
    assert.ok(await store.verifyLogin('alice', 'a new password'));
    await assert.rejects(store.setPassword('alice', 'short'), /8 to 1024/);

    const t3 = store.createSession(u.id);
    assert.equal(store.setPlan('alice', 'gold'), true);
    assert.equal(store.sessionUser(t3)?.plan, 'gold');
    assert.equal(store.listUsers()[0].plan, 'gold');

    assert.equal(store.setDisabled('nobody', true), false);
    assert.equal(await store.setPassword('nobody', 'whatever123'), false);
    assert.equal(store.setPlan('nobody', 'gold'), false);
    store.localUser('default');
    assert.equal(store.setDisabled('local', true), false, 'the local user is not a named user');
    assert.equal(store.setPlan('local', 'gold'), false);
  });

  it('makes the local user on first use, for foreign keys, and never lists it or counts it as a user', () => {
    const store = new AppStore(':memory:');
    assert.equal(count(store, 'users'), 0);
    const local = store.localUser('default');
    assert.deepEqual(local, { id: 'local', name: 'local', plan: 'default' });
    assert.deepEqual(store.localUser('free'), { id: 'local', name: 'local', plan: 'free' });
    assert.equal(count(store, 'users'), 1);
    assert.deepEqual(store.listUsers(), []);
    assert.equal(store.hasUsers(), false);
    const c = store.createConversation('local');
    assert.equal(store.getConversation('local', c.id)?.conversation.id, c.id);
    assert.throws(() => store.createSession('local'), AppStoreError);
  });
});

describe('AppStore sessions', () => {
  it('stores only the sha256 of a 256-bit token and ends a session on delete', async () => {
    const { store, alice } = await twoUsers();
    const token = store.createSession(alice.id);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    const rows = store.db.prepare('SELECT * FROM sessions').all() as Record<string, unknown>[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0].id_hash, createHash('sha256').update(token).digest('hex'));
    assert.ok(!JSON.stringify(rows).includes(token));
    assert.deepEqual(store.sessionUser(token), alice);
    for (const bad of ['', 'x', `${token}x`, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), rows[0].id_hash as string]) {
      assert.equal(store.sessionUser(bad), null, bad);
    }
    store.deleteSession(token);
    assert.equal(store.sessionUser(token), null);
    assert.equal(count(store, 'sessions'), 0);
  });

  it('expires after 7 idle days, touching last_seen at most once a minute', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(c.now);
    const token = store.createSession(alice.id);
    const lastSeen = () => (store.db.prepare('SELECT last_seen FROM sessions').get() as { last_seen: string } | undefined)?.last_seen;
    const created = lastSeen();
    c.t += 30_000;
    assert.ok(store.sessionUser(token));
    assert.equal(lastSeen(), created, 'not touched within a minute');
    c.t += 31_000;
    assert.ok(store.sessionUser(token));
    assert.equal(lastSeen(), new Date(c.t).toISOString());
    c.t += SESSION_IDLE_MS - 1;
    assert.ok(store.sessionUser(token), 'one ms short of 7 idle days');
    c.t += SESSION_IDLE_MS;
    assert.equal(store.sessionUser(token), null);
    assert.equal(lastSeen(), undefined, 'an expired session is deleted');
  });

  it('expires 30 days after sign-in however active, and a disabled user has no session', async () => {
    const c = clock();
    const { store, alice, bob } = await twoUsers(c.now);
    const token = store.createSession(alice.id);
    for (let day = 1; day < 30; day++) {
      c.t += 24 * 3600_000;
      assert.ok(store.sessionUser(token), `day ${day}`);
    }
    c.t = clock().t + SESSION_MAX_MS;
    assert.equal(store.sessionUser(token), null);
    assert.equal(count(store, 'sessions'), 0);

    const tb = store.createSession(bob.id);
    store.db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(bob.id); // as another connection would
    assert.equal(store.sessionUser(tb), null);
    assert.equal(count(store, 'sessions'), 0);
  });

  it('drops expired sessions when new ones are made', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(c.now);
    store.createSession(alice.id);
    c.t += SESSION_IDLE_MS + 1;
    store.createSession(alice.id);
    assert.equal(count(store, 'sessions'), 1);
  });
});

describe('AppStore conversations and branches', () => {
  it('creates conversations with defaults and checks fields with their limits', async () => {
    const { store, alice } = await twoUsers();
    const c = store.createConversation(alice.id);
    assert.match(c.id, /^c_[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(
      { ...c, id: 'x', createdAt: 'x', updatedAt: 'x' },
      {
        id: 'x',
        title: 'New chat',
        model: null,
        system: '',
        currentLeafId: null,
        createdAt: 'x',
        updatedAt: 'x',
      },
    );
    const d = store.createConversation(alice.id, { title: '  Trip\n plans  ', model: 'tetra-1', system: 'Be brief.' });
    assert.deepEqual([d.title, d.model, d.system], ['Trip plans', 'tetra-1', 'Be brief.']);
    assert.throws(
      () => store.createConversation(alice.id, { title: '   ' }),
      /title must have 1 to 200 characters \(after trimming\), got 0/,
    );
    assert.throws(() => store.createConversation(alice.id, { title: 'x'.repeat(201) }), /got 201/);
    assert.throws(() => store.createConversation(alice.id, { system: 'x'.repeat(32_001) }), /system must have at most 32000 characters/);
    assert.throws(() => store.createConversation(alice.id, { model: '' }), /model must be a model id/);
    assert.equal(store.createConversation(alice.id, { title: '字'.repeat(200), system: '字'.repeat(32_000) }).title.length, 200);
  });

  it('builds a tree: edits and regenerations are siblings, the newest branch shows, pathTo walks root to leaf', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(() => (c.t += 1000));
    const conv = store.createConversation(alice.id);
    const [u1, a1, u2, a2] = chain(store, alice.id, conv.id, null, ['one', 'answer one', 'two', 'answer two']);
    assert.equal(store.conversation(alice.id, conv.id)?.currentLeafId, a2.id);
    // Edit question two: a sibling of u2 under a1, with its own answer.
    const [u2b, a2b] = chain(store, alice.id, conv.id, a1.id, ['two, edited', 'answer to the edit']);
    // Regenerate answer two: a sibling of a2.
    const a2r = store.addMessage(alice.id, conv.id, { parentId: u2.id, role: 'assistant', content: 'answer two, again' });
    const detail = store.getConversation(alice.id, conv.id)!;
    assert.deepEqual(
      detail.messages.map((m) => m.id),
      [u1, a1, u2, a2, u2b, a2b, a2r].map((m) => m.id),
      'oldest first',
    );
    assert.equal(detail.conversation.currentLeafId, a2r.id);
    assert.deepEqual(
      store.pathTo(conv.id, a2b.id).map((m) => m.content),
      ['one', 'answer one', 'two, edited', 'answer to the edit'],
    );
    assert.deepEqual(
      store.pathTo(conv.id, u1.id).map((m) => m.id),
      [u1.id],
    );
    assert.deepEqual(store.pathTo('c_nope', a2b.id), [], 'the leaf must be in that conversation');

    // Switching to a message follows the newest child down to a leaf.
    assert.equal(store.updateConversation(alice.id, conv.id, { currentLeafId: a1.id })?.currentLeafId, a2b.id, 'u2b is newer than u2');
    assert.equal(store.updateConversation(alice.id, conv.id, { currentLeafId: u2.id })?.currentLeafId, a2r.id, 'a2r is newer than a2');
    assert.equal(store.updateConversation(alice.id, conv.id, { currentLeafId: a2.id })?.currentLeafId, a2.id, 'a leaf stays');
    assert.equal(store.updateConversation(alice.id, conv.id, { currentLeafId: u1.id })?.currentLeafId, a2b.id);
  });

  it('takes the last inserted child as newest when timestamps tie', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(c.now);
    const conv = store.createConversation(alice.id);
    const [u1] = chain(store, alice.id, conv.id, null, ['q']);
    const first = store.addMessage(alice.id, conv.id, { parentId: u1.id, role: 'assistant', content: 'first' });
    const second = store.addMessage(alice.id, conv.id, { parentId: u1.id, role: 'assistant', content: 'second' });
    assert.equal(first.createdAt, second.createdAt);
    assert.equal(store.updateConversation(alice.id, conv.id, { currentLeafId: u1.id })?.currentLeafId, second.id);
  });

  it('refuses parents from another conversation and turns out of order', async () => {
    const { store, alice } = await twoUsers();
    const conv = store.createConversation(alice.id);
    const other = store.createConversation(alice.id);
    const [u1, a1] = chain(store, alice.id, conv.id, null, ['q', 'a']);
    const [ou] = chain(store, alice.id, other.id, null, ['elsewhere']);
    const add = (parentId: string | null, role: 'user' | 'assistant') => () =>
      store.addMessage(alice.id, conv.id, { parentId, role, content: 'x' });
    assert.throws(add(null, 'assistant'), /an assistant message must answer a user message/);
    assert.throws(add(u1.id, 'user'), /: a user message cannot follow a user message$/);
    assert.throws(add(a1.id, 'assistant'), /: an assistant message cannot follow an assistant message$/);
    assert.throws(
      add(ou.id, 'assistant'),
      (e: AppStoreError) => e.code === 'invalid' && e.param === 'parentId' && /is not in conversation/.test(e.message),
    );
    assert.throws(add('m_nope', 'assistant'), /is not in conversation/);
    assert.throws(
      () => store.updateConversation(alice.id, conv.id, { currentLeafId: ou.id }),
      (e: AppStoreError) => e.code === 'invalid' && e.param === 'currentLeafId',
    );
    assert.throws(
      () => store.addMessage(alice.id, conv.id, { parentId: a1.id, role: 'user', content: 'x', status: 'nope' as 'done' }),
      /status/,
    );
    assert.throws(() => store.addMessage(alice.id, conv.id, { parentId: a1.id, role: 'system' as 'user', content: 'x' }), /role/);
    assert.equal(store.getConversation(alice.id, conv.id)!.messages.length, 2, 'nothing was added');
  });

  it('names a new chat from the first user message, cut at a word boundary', async () => {
    const { store, alice } = await twoUsers();
    const title = (content: string, role: 'user' | 'assistant' = 'user') => {
      const c = store.createConversation(alice.id);
      store.addMessage(alice.id, c.id, { parentId: null, role, content, images: [{ mime: 'image/png', data: new Uint8Array([1]) }] });
      return store.conversation(alice.id, c.id)!.title;
    };
    assert.equal(title('  Plan a trip to Kyoto \nwith details on the second line'), 'Plan a trip to Kyoto');
    assert.equal(title('\n\n  second line counts when the first is empty'), 'second line counts when the first is empty');
    assert.equal(title(''), 'New chat', 'an image alone leaves the default');
    const long = 'How do I configure the reverse proxy so that websocket connections and server-sent events work';
    const t = title(long);
    assert.ok([...t].length <= 60, t);
    assert.ok(t.endsWith('…'), t);
    const body = t.slice(0, -1);
    assert.ok(long.startsWith(body) && long[body.length] === ' ', `cut at a word boundary: ${t}`);
    assert.equal(t, 'How do I configure the reverse proxy so that websocket…');
    const cjk = title('字'.repeat(100));
    assert.equal(cjk, `${'字'.repeat(59)}…`);

    const conv = store.createConversation(alice.id);
    const [, a1] = chain(store, alice.id, conv.id, null, ['first question', 'answer']);
    chain(store, alice.id, conv.id, a1.id, ['second question']);
    assert.equal(store.conversation(alice.id, conv.id)!.title, 'first question', 'only the first one names it');
    const named = store.createConversation(alice.id, { title: 'Mine' });
    chain(store, alice.id, named.id, null, ['hello']);
    assert.equal(store.conversation(alice.id, named.id)!.title, 'Mine');
  });

  it('lists newest updated first (a new message moves a chat up; a branch switch does not), at most 200', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(() => (c.t += 1000));
    const a = store.createConversation(alice.id, { title: 'A' });
    const b = store.createConversation(alice.id, { title: 'B' });
    assert.deepEqual(
      store.listConversations(alice.id).map((x) => x.title),
      ['B', 'A'],
    );
    const [u] = chain(store, alice.id, a.id, null, ['hi']);
    assert.deepEqual(
      store.listConversations(alice.id).map((x) => x.title),
      ['A', 'B'],
    );
    store.updateConversation(alice.id, b.id, { system: 'new rules' });
    assert.deepEqual(
      store.listConversations(alice.id).map((x) => x.title),
      ['B', 'A'],
    );
    const before = store.conversation(alice.id, a.id)!.updatedAt;
    store.updateConversation(alice.id, a.id, { currentLeafId: u.id });
    assert.equal(store.conversation(alice.id, a.id)!.updatedAt, before);
    const [top] = store.listConversations(alice.id);
    assert.deepEqual(Object.keys(top).sort(), ['id', 'model', 'title', 'updatedAt']);
    for (let i = 0; i < 205; i++) store.createConversation(alice.id);
    assert.equal(store.listConversations(alice.id).length, 200);
  });

  it('patches title, model and system with the same limits', async () => {
    const { store, alice } = await twoUsers();
    const c = store.createConversation(alice.id);
    const p = store.updateConversation(alice.id, c.id, { title: '  Renamed  ', model: 'tetra-2', system: 'S' })!;
    assert.deepEqual([p.title, p.model, p.system], ['Renamed', 'tetra-2', 'S']);
    assert.throws(
      () => store.updateConversation(alice.id, c.id, { title: ' ' }),
      (e: AppStoreError) => e.param === 'title',
    );
    assert.throws(
      () => store.updateConversation(alice.id, c.id, { system: 'x'.repeat(32_001) }),
      (e: AppStoreError) => e.param === 'system',
    );
    assert.equal(store.updateConversation(alice.id, c.id, { system: '' })!.system, '');
    assert.equal(store.conversation(alice.id, c.id)!.title, 'Renamed');
  });
});

describe('AppStore messages', () => {
  it('finishes an answer with its numbers, keeping the model when none is given', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(() => (c.t += 1000));
    const conv = store.createConversation(alice.id);
    const [u] = chain(store, alice.id, conv.id, null, ['q']);
    const a = store.addMessage(alice.id, conv.id, {
      parentId: u.id,
      role: 'assistant',
      content: '',
      model: 'tetra-1',
      status: 'streaming',
    });
    assert.deepEqual([a.status, a.model, a.promptTokens], ['streaming', 'tetra-1', null]);
    const done = store.finishMessage(a.id, {
      content: 'the answer',
      status: 'done',
      promptTokens: 12,
      completionTokens: 3,
      ttftMs: 40,
      genMs: 900,
    })!;
    assert.deepEqual(
      { ...done, createdAt: 'x' },
      {
        id: a.id,
        parentId: u.id,
        role: 'assistant',
        content: 'the answer',
        images: [],
        model: 'tetra-1',
        status: 'done',
        promptTokens: 12,
        completionTokens: 3,
        ttftMs: 40,
        genMs: 900,
        error: null,
        createdAt: 'x',
      },
    );
    assert.equal(store.getConversation(alice.id, conv.id)!.messages[1].content, 'the answer');
    const failed = store.finishMessage(a.id, { content: 'partial', status: 'error', model: 'tetra-1-0301', error: 'e'.repeat(5000) })!;
    assert.deepEqual([failed.status, failed.model, failed.error?.length, failed.promptTokens], ['error', 'tetra-1-0301', 2000, null]);
    assert.equal(store.finishMessage('m_nope', { content: '', status: 'done' }), null);
    assert.throws(
      () => store.finishMessage(a.id, { content: '', status: 'finished' as 'done' }),
      /status must be one of done, stopped, error, streaming/,
    );
    assert.throws(
      () => store.finishMessage(a.id, { content: '', status: 'done', promptTokens: -1 }),
      /promptTokens must be a non-negative integer/,
    );
    assert.throws(() => store.finishMessage(a.id, { content: '', status: 'done', genMs: 1.5 }), /genMs/);
  });

  it('keeps images in attachments, in order, with their digest, readable by the owner only', async () => {
    const { store, alice, bob } = await twoUsers();
    const conv = store.createConversation(alice.id);
    const png = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const jpg = new Uint8Array(Buffer.from('fake jpeg bytes'));
    const sub = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    const m = store.addMessage(alice.id, conv.id, {
      parentId: null,
      role: 'user',
      content: 'look',
      images: [
        { mime: 'image/png', data: png },
        { mime: 'IMAGE/JPEG', data: jpg },
        { mime: 'image/webp', data: sub },
      ],
    });
    assert.equal(m.images.length, 3);
    for (const id of m.images) assert.match(id, /^a_[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(store.getConversation(alice.id, conv.id)!.messages[0].images, m.images);
    assert.deepEqual(store.pathTo(conv.id, m.id)[0].images, m.images);
    const imgs = store.messageImages(m.id);
    assert.deepEqual(
      imgs.map((i) => [i.mime, [...i.data]]),
      [
        ['image/png', [...png]],
        ['image/jpeg', [...jpg]],
        ['image/webp', [1, 2, 3]],
      ],
    );
    const a = store.attachment(alice.id, m.images[1])!;
    assert.equal(a.mime, 'image/jpeg');
    assert.ok(Buffer.isBuffer(a.data));
    assert.equal(a.data.toString(), 'fake jpeg bytes');
    assert.equal(store.attachment(bob.id, m.images[1]), null);
    assert.equal(store.attachment(alice.id, 'a_nope'), null);
    const row = store.db.prepare('SELECT sha256, bytes FROM attachments WHERE id = ?').get(m.images[0]) as {
      sha256: string;
      bytes: number;
    };
    assert.deepEqual(row, { sha256: createHash('sha256').update(png).digest('hex'), bytes: 7 });
    const msgCols = (store.db.prepare('PRAGMA table_info(messages)').all() as { type: string }[]).map((c) => c.type);
    assert.ok(!msgCols.includes('BLOB'), 'no blobs in messages rows');
    const bad = (images: { mime: string; data: Uint8Array }[]) => () =>
      store.addMessage(alice.id, conv.id, { parentId: null, role: 'user', content: 'x', images });
    assert.throws(bad([{ mime: 'text/html', data: png }]), /image type must be image\/\.\.\., got text\/html/);
    assert.throws(bad([{ mime: 'image/png', data: new Uint8Array(0) }]), /an image must have 1 to \d+ bytes/);
    assert.throws(bad(Array.from({ length: 17 }, () => ({ mime: 'image/png', data: png }))), /at most 16 images, got 17/);
  });

  it('deletes a message with its subtree and moves the branch on show back to its parent', async () => {
    const c = clock();
    const { store, alice } = await twoUsers(() => (c.t += 1000));
    const conv = store.createConversation(alice.id);
    const [u1, a1, u2, a2] = chain(store, alice.id, conv.id, null, ['one', 'answer one', 'two', 'answer two']);
    const [u2b] = chain(store, alice.id, conv.id, a1.id, ['two, edited']);
    const leaf = () => store.conversation(alice.id, conv.id)!.currentLeafId;
    assert.equal(leaf(), u2b.id);
    assert.equal(store.deleteMessage(a2.id), true, 'off the branch on show');
    assert.equal(leaf(), u2b.id, 'the branch on show stays');
    assert.equal(store.deleteMessage(u2b.id), true);
    assert.equal(leaf(), a1.id, 'back to the parent');
    store.updateConversation(alice.id, conv.id, { currentLeafId: u2.id });
    assert.equal(leaf(), u2.id);
    assert.equal(store.deleteMessage(u1.id), true, 'the root takes the whole tree');
    assert.equal(leaf(), null);
    assert.equal(count(store, 'messages'), 0);
    assert.equal(store.deleteMessage(u1.id), false);
    ftsIntact(store);
  });

  it('handles a 1500-message chat: path, delete from the root, delete the conversation', async () => {
    const { store, alice } = await twoUsers();
    const conv = store.createConversation(alice.id);
    const texts = Array.from({ length: 1500 }, (_, i) => `turn ${i}`);
    const msgs = store.db.transaction(() => chain(store, alice.id, conv.id, null, texts))();
    assert.equal(store.pathTo(conv.id, msgs[1499].id).length, 1500);
    assert.equal(store.deleteMessage(msgs[500].id), true);
    assert.equal(count(store, 'messages'), 500);
    assert.equal(store.conversation(alice.id, conv.id)!.currentLeafId, msgs[499].id);
    assert.equal(store.deleteConversation(alice.id, conv.id), true);
    assert.equal(count(store, 'messages'), 0);
    ftsIntact(store);
  });

  it('cascades: a deleted conversation takes its messages, images and index entries; a deleted user everything', async () => {
    const { store, alice, bob } = await twoUsers();
    const conv = store.createConversation(alice.id);
    const keep = store.createConversation(bob.id);
    const img = [{ mime: 'image/png', data: new Uint8Array([1, 2]) }];
    const m = store.addMessage(alice.id, conv.id, { parentId: null, role: 'user', content: 'zebra crossing', images: img });
    store.addMessage(alice.id, conv.id, { parentId: m.id, role: 'assistant', content: 'zebras are striped' });
    chain(store, bob.id, keep.id, null, ['zebra for bob']);
    store.createSession(alice.id);
    assert.equal(store.listConversations(alice.id, 'zebra').length, 1);
    assert.equal(store.deleteConversation(alice.id, conv.id), true);
    assert.equal(store.deleteConversation(alice.id, conv.id), false);
    assert.equal(store.getConversation(alice.id, conv.id), null);
    assert.equal(count(store, 'messages'), 1, "bob's message stays");
    assert.equal(count(store, 'attachments'), 0);
    assert.equal(store.attachment(alice.id, m.images[0]), null);
    assert.deepEqual(store.listConversations(alice.id, 'zebra'), []);
    assert.equal(store.listConversations(bob.id, 'zebra').length, 1);
    ftsIntact(store);
    const c2 = store.createConversation(alice.id);
    chain(store, alice.id, c2.id, null, ['again']);
    store.db.prepare('DELETE FROM users WHERE id = ?').run(alice.id);
    assert.deepEqual([count(store, 'conversations'), count(store, 'messages'), count(store, 'sessions')], [1, 1, 0]);
    ftsIntact(store);
  });
});

describe('AppStore search', () => {
  async function corpus() {
    const c = clock();
    const { store, alice, bob } = await twoUsers(() => (c.t += 1000));
    const add = (title: string, texts: string[]) => {
      const conv = store.createConversation(alice.id, { title });
      return { conv, msgs: chain(store, alice.id, conv.id, null, texts) };
    };
    const fox = add('Animals', ['Tell me about foxes', 'The quick brown fox jumps over the lazy dog']);
    const cjk = add('中文', ['你好世界，今天天气很好', '是的']);
    const pizza = add('Food', ['I love 🍕 pizza', 'Me too']);
    const hostile = add('Syntax', ['say "hello" to a*b and NOT -x (or) 100% user_name', 'ok']);
    const budget = add('Budget planning', ['numbers please']);
    const bobs = store.createConversation(bob.id, { title: 'Bob quick notes' });
    chain(store, bob.id, bobs.id, null, ['quick brown fox, bob edition']);
    return { store, alice, bob, fox, cjk, pizza, hostile, budget };
  }
  const titles = (r: { title: string }[]) => r.map((x) => x.title).sort();

  it('finds substrings in any message, case-insensitively, every term required, with a snippet and the matching message', async () => {
    const { store, alice, fox } = await corpus();
    const [hit, ...rest] = store.listConversations(alice.id, 'QUICK');
    assert.equal(rest.length, 0);
    assert.equal(hit.id, fox.conv.id);
    assert.equal(hit.matchMessageId, fox.msgs[1].id);
    assert.equal(hit.snippet, 'The quick brown fox jumps over the lazy dog');
    assert.equal(store.listConversations(alice.id, 'fox')[0].matchMessageId, fox.msgs[0].id, 'the first message that matches');
    assert.deepEqual(titles(store.listConversations(alice.id, 'lazy quick')), ['Animals']);
    assert.deepEqual(titles(store.listConversations(alice.id, 'umps')), ['Animals'], 'substrings match');
    assert.deepEqual(store.listConversations(alice.id, 'quick zebra'), []);
    assert.deepEqual(titles(store.listConversations(alice.id, 'dog PIZZA')), []);
  });

  it('matches titles too, without a snippet', async () => {
    const { store, alice } = await corpus();
    const [hit, ...rest] = store.listConversations(alice.id, 'budget');
    assert.equal(rest.length, 0);
    assert.equal(hit.title, 'Budget planning');
    assert.equal(hit.snippet, undefined);
    assert.equal(hit.matchMessageId, undefined);
    assert.deepEqual(titles(store.listConversations(alice.id, 'plan')), ['Budget planning']);
  });

  it('searches CJK and emoji, short and long', async () => {
    const { store, alice } = await corpus();
    assert.deepEqual(titles(store.listConversations(alice.id, '世界')), ['中文']);
    assert.deepEqual(titles(store.listConversations(alice.id, '天气很好')), ['中文']);
    assert.deepEqual(titles(store.listConversations(alice.id, '好')), ['中文']);
    assert.deepEqual(titles(store.listConversations(alice.id, '🍕')), ['Food']);
    assert.deepEqual(titles(store.listConversations(alice.id, '🍕 pizza')), ['Food']);
    assert.deepEqual(store.listConversations(alice.id, '🍔'), []);
    assert.deepEqual(store.listConversations(alice.id, '世界 🍔'), [], 'every short term is required');
    assert.deepEqual(store.listConversations(alice.id, 'quick 🍔'), [], 'short terms are required beside long ones');
    assert.deepEqual(titles(store.listConversations(alice.id, 'quick 狗')), []);
    assert.deepEqual(titles(store.listConversations(alice.id, 'pizza I')), ['Food']);
  });

  it('takes hostile queries literally and never throws', async () => {
    const { store, alice } = await corpus();
    const only = (q: string, want: string[]) => assert.deepEqual(titles(store.listConversations(alice.id, q)), want, JSON.stringify(q));
    only('"', ['Syntax']);
    only('"hello"', ['Syntax']);
    only('a*', ['Syntax']);
    only('a*b', ['Syntax']);
    only('NOT', ['Syntax']);
    only('-x', ['Syntax']);
    only('(or)', ['Syntax']);
    only('100%', ['Syntax']);
    only('user_name', ['Syntax']);
    only('%', ['Syntax']);
    only('_', ['Syntax']);
    for (const q of [
      '*',
      'AND',
      'OR',
      'NEAR(',
      'hello NEAR',
      '^',
      ':',
      '""',
      '"""',
      "'",
      '\\',
      '\\%',
      '%%%',
      '(',
      ')',
      '{x}',
      'a:b',
      '\0',
      '\u202e',
    ]) {
      assert.doesNotThrow(() => store.listConversations(alice.id, q), q);
    }
    only('%%%', []);
    only('___', []);
    only('NEAR(', []);
    only('x'.repeat(5000), []);
  });

  it('treats an empty or blank query as no query', async () => {
    const { store, alice } = await corpus();
    assert.equal(store.listConversations(alice.id, '').length, 5);
    assert.equal(store.listConversations(alice.id, '  \t ').length, 5);
  });

  it('cuts a snippet of about 80 characters around the match, whole emoji, plain text', async () => {
    const { store, alice } = await twoUsers();
    const conv = store.createConversation(alice.id);
    const text = `${'😀 lorem ipsum '.repeat(40)}<b>needle</b>\n\n${'dolor sit amet 😀 '.repeat(40)}`;
    chain(store, alice.id, conv.id, null, [text]);
    const [hit] = store.listConversations(alice.id, 'needle');
    const s = hit.snippet!;
    assert.ok(s.startsWith('…') && s.endsWith('…'), s);
    assert.ok(s.includes('<b>needle</b> dolor'), s);
    assert.ok(s.length <= 84, `${s.length}: ${s}`);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s), 'no half emoji');
  });

  it('follows edits to message content (the index stays in step)', async () => {
    const { store, alice } = await twoUsers();
    const conv = store.createConversation(alice.id, { title: 'T' });
    const [u] = chain(store, alice.id, conv.id, null, ['q']);
    const a = store.addMessage(alice.id, conv.id, { parentId: u.id, role: 'assistant', content: '', status: 'streaming' });
    store.finishMessage(a.id, { content: 'photosynthesis explained', status: 'done' });
    assert.equal(store.listConversations(alice.id, 'photosynthesis')[0].matchMessageId, a.id);
    store.finishMessage(a.id, { content: 'respiration instead', status: 'done' });
    assert.deepEqual(store.listConversations(alice.id, 'photosynthesis'), []);
    assert.equal(store.listConversations(alice.id, 'respiration').length, 1);
    ftsIntact(store);
  });
});

describe('AppStore isolation', () => {
  it("answers another user's conversation, message and attachment ids exactly as missing ones, and changes nothing", async () => {
    const { store, alice, bob } = await twoUsers();
    const conv = store.createConversation(alice.id, { title: 'secret plans' });
    const [u, a] = chain(store, alice.id, conv.id, null, ['secret question', 'secret answer']);
    const withImg = store.addMessage(alice.id, conv.id, {
      parentId: a.id,
      role: 'user',
      content: 'pic',
      images: [{ mime: 'image/png', data: new Uint8Array([1]) }],
    });
    const snapshot = () => JSON.stringify(store.getConversation(alice.id, conv.id));
    const before = snapshot();
    const bobConv = store.createConversation(bob.id, { title: 'bob' });

    assert.deepEqual(
      store.listConversations(bob.id).map((c) => c.id),
      [bobConv.id],
    );
    assert.deepEqual(store.listConversations(bob.id, 'secret'), []);
    for (const id of [conv.id, 'c_missing']) {
      assert.equal(store.getConversation(bob.id, id), null);
      assert.equal(store.conversation(bob.id, id), null);
      assert.equal(store.updateConversation(bob.id, id, { title: 'pwned' }), null);
      assert.equal(store.updateConversation(bob.id, id, { currentLeafId: u.id }), null);
      assert.equal(store.deleteConversation(bob.id, id), false);
    }
    const addAs = (id: string, parentId: string | null) => () => store.addMessage(bob.id, id, { parentId, role: 'user', content: 'x' });
    assert.equal(thrown(addAs(conv.id, null)).replace(conv.id, 'ID'), thrown(addAs('c_missing', null)).replace('c_missing', 'ID'));
    assert.match(thrown(addAs(conv.id, a.id)), /^not_found: no conversation/);
    // Bob's own conversation cannot take Alice's message as a parent or a branch.
    assert.match(thrown(addAs(bobConv.id, a.id)), /^invalid: parent message/);
    assert.match(
      thrown(() => store.updateConversation(bob.id, bobConv.id, { currentLeafId: u.id })),
      /^invalid: message/,
    );
    assert.equal(store.attachment(bob.id, withImg.images[0]), null);
    assert.deepEqual(store.pathTo(bobConv.id, a.id), []);
    assert.equal(snapshot(), before, "alice's conversation is untouched");
    assert.equal(store.listConversations(alice.id, 'secret')[0].id, conv.id);
  });
});
