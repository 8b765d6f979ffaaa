// The chat app's JSON routes over real HTTP (no browser): who may call them, CSRF, conversations,
// sending through the gateway pipeline (cap, ledger, stop), attachments and export.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { startAppServer, TEXT_MODEL, VISION_MODEL, type AppServer } from './fixtures/app-server.ts';

const JSON_HEADERS = { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' };

async function call(s: AppServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(s.url + path, {
    method,
    headers: { ...(body === undefined ? { 'sec-fetch-site': 'same-origin' } : JSON_HEADERS), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

/** Sends a message and reads the whole SSE answer; returns the text and the stored ids. */
async function send(s: AppServer, conv: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const r = await fetch(`${s.url}/app/api/conversations/${conv}/messages`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const raw = await r.text();
  let text = '';
  let usage: any = null;
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const ev = JSON.parse(line.slice(6));
    text += ev.choices?.[0]?.delta?.content ?? '';
    if (ev.usage) usage = ev.usage;
  }
  return {
    status: r.status,
    raw,
    text,
    usage,
    conversation: r.headers.get('x-tetra-conversation-id'),
    user: r.headers.get('x-tetra-user-message-id'),
    answer: r.headers.get('x-tetra-assistant-message-id'),
  };
}

/** A 2x2 PNG (8-bit RGB), built here. */
function png(): Buffer {
  const crc = (b: Buffer) => {
    let c = ~0;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    td.copy(out, 4);
    out.writeUInt32BE(crc(td), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('chat app API, open mode (no users, loopback)', () => {
  let s: AppServer;
  before(async () => {
    s = await startAppServer({
      delayMs: 0,
      plans: { plans: { default: { rpm: 100_000, tpm: 100_000_000, usageCap: { messages: 5, windowHours: 3 } } } },
    });
  });
  after(() => s.close());

  test('the session says no sign-in is needed and names the local user', async () => {
    const r = await call(s, 'GET', '/app/api/session');
    assert.equal(r.status, 200);
    assert.equal(r.json.auth, 'none');
    assert.equal(r.json.user.name, 'local');
  });

  test("a model's report card is linked from the model list and served with a script-free CSP", async () => {
    const list = await call(s, 'GET', '/app/api/models');
    const byId = Object.fromEntries(list.json.data.map((m: { id: string; report: string | null }) => [m.id, m.report]));
    assert.equal(byId[VISION_MODEL], `/app/report/${VISION_MODEL}`);
    assert.equal(byId.tetra, `/app/report/${VISION_MODEL}`, "an alias links its snapshot's card");
    assert.equal(byId[TEXT_MODEL], null);
    const page = await call(s, 'GET', byId[VISION_MODEL]);
    assert.equal(page.status, 200);
    assert.match(page.text, /tetra report card/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /script-src/);
    assert.equal((await call(s, 'GET', `/app/report/${TEXT_MODEL}`)).status, 404);
    assert.equal((await call(s, 'POST', byId[VISION_MODEL], {})).status, 405);
  });

  test('a Host that is not loopback (DNS rebinding) is refused in open mode', async () => {
    // fetch may not set Host; node:http may.
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(`${s.url}/app/api/conversations`);
        request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
          .on('error', reject)
          .end();
      });
    assert.equal(await status('attacker.example'), 401);
    assert.equal(await status(`localhost:${new URL(s.url).port}`), 200);
  });

  test('cross-site writes are refused: Sec-Fetch-Site, foreign Origin, non-JSON body', async () => {
    const cases: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' },
      { origin: 'http://evil.example', 'content-type': 'application/json' },
      { 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' },
    ];
    for (const headers of cases) {
      const r = await fetch(`${s.url}/app/api/conversations`, { method: 'POST', headers, body: '{}' });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(((await r.json()) as any).error.code, 'csrf');
    }
    const list = await call(s, 'GET', '/app/api/conversations');
    assert.equal(list.json.data.length, 0, 'nothing was created by the refused writes');
  });

  test('send streams the API events, stores both messages, writes a ledger row and counts against the cap', async () => {
    const c = await call(s, 'POST', '/app/api/conversations', { system: 'Answer in uppercase.' });
    assert.equal(c.status, 200);
    const r = await send(s, c.json.id, { parentId: null, content: 'hello there' });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'YOU SAID: HELLO THERE. HERE IS **BOLD** TEXT.');
    assert.ok(r.usage && r.usage.completion_tokens > 0);
    const req = s.engine.requests.at(-1)!;
    assert.deepEqual(req.messages[0], { role: 'system', content: 'Answer in uppercase.' });
    const d = await call(s, 'GET', `/app/api/conversations/${c.json.id}`);
    assert.equal(d.json.messages.length, 2);
    const [u, a] = d.json.messages;
    assert.equal(u.id, r.user);
    assert.equal(a.id, r.answer);
    assert.equal(a.parentId, u.id);
    assert.equal(a.content, r.text);
    assert.equal(a.status, 'done');
    assert.equal(a.completionTokens, r.usage.completion_tokens);
    assert.equal(a.promptTokens, r.usage.prompt_tokens);
    assert.equal(d.json.conversation.currentLeafId, a.id);
    assert.equal(d.json.conversation.title, 'hello there');
    const rows = s.ledger.report({ by: ['model'] });
    assert.ok(JSON.stringify(rows).includes(VISION_MODEL), 'the ledger billed the snapshot');
    const usage = await call(s, 'GET', '/app/api/usage');
    assert.equal(usage.json.cap.limit, 5);
    assert.equal(usage.json.cap.used, 1);
    assert.equal(usage.json.cap.remaining, 4);
    assert.ok(Date.parse(usage.json.cap.resetsAt) > Date.now() + 2.9 * 3600_000);
  });

  test('regenerate answers the same user message again as a sibling; the history sent is the branch only', async () => {
    const c = await call(s, 'POST', '/app/api/conversations', {});
    const first = await send(s, c.json.id, { parentId: null, content: 'one' });
    const second = await send(s, c.json.id, { parentId: first.answer, content: 'two' });
    const again = await send(s, c.json.id, { parentId: second.user, content: '', regenerate: true });
    assert.equal(again.status, 200);
    assert.equal(again.user, second.user);
    const d = await call(s, 'GET', `/app/api/conversations/${c.json.id}`);
    const answersToTwo = d.json.messages.filter((m: any) => m.parentId === second.user);
    assert.equal(answersToTwo.length, 2);
    const sent = s.engine.requests.at(-1)!.messages.map((m) => m.content);
    assert.deepEqual(sent, ['one', 'You said: one. Here is **bold** text.', 'two']);
    // Switching to the first answer's branch.
    const p = await call(s, 'PATCH', `/app/api/conversations/${c.json.id}`, { currentLeafId: second.answer });
    assert.equal(p.json.currentLeafId, second.answer);
  });

  test('at the cap the send is refused with 429 naming the reset, and nothing is stored', async () => {
    const c = await call(s, 'POST', '/app/api/conversations', {});
    let parentId: string | null = null;
    for (let left = (await call(s, 'GET', '/app/api/usage')).json.cap.remaining; left > 0; left--)
      parentId = (await send(s, c.json.id, { parentId, content: `filler ${left}` })).answer;
    assert.equal((await call(s, 'GET', '/app/api/usage')).json.cap.remaining, 0);
    const before = (await call(s, 'GET', `/app/api/conversations/${c.json.id}`)).json.messages.length;
    const r = await send(s, c.json.id, { parentId, content: 'over the cap' });
    assert.equal(r.status, 429);
    const err = JSON.parse(r.raw).error;
    assert.equal(err.code, 'usage_cap_exceeded');
    assert.match(err.message, /at most 5 messages per 3 hours/);
    const d = await call(s, 'GET', `/app/api/conversations/${c.json.id}`);
    assert.equal(d.json.messages.length, before, 'the refused message was not kept');
    // The API refuses the same principal too: the cap is the server's, not the page's.
    const api = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tetra', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(api.status, 429);
    s.advance(3 * 3600_000 + 1000);
    const later = await send(s, c.json.id, { parentId, content: 'after the window' });
    assert.equal(later.status, 200);
  });
});

describe('chat app API: stop, images, export', () => {
  let s: AppServer;
  before(async () => {
    s = await startAppServer({ delayMs: 30 });
  });
  after(() => s.close());

  test('closing the request stops the engine within 200 ms and keeps the partial answer as stopped', async () => {
    s.engine.reply = () => Array.from({ length: 200 }, (_, i) => `w${i} `);
    const c = await call(s, 'POST', '/app/api/conversations', {});
    const ac = new AbortController();
    const r = await fetch(`${s.url}/app/api/conversations/${c.json.id}/messages`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ parentId: null, content: 'long please' }),
      signal: ac.signal,
    });
    const reader = r.body!.getReader();
    let seen = '';
    while (!seen.includes('w3 ')) seen += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    await new Promise((res) => setTimeout(res, 400));
    assert.ok(s.engine.aborts >= 1, 'the engine saw the abort');
    assert.ok(s.engine.lastTextAt - s.engine.abortedAt < 200, 'no text produced 200 ms after the abort');
    const d = await call(s, 'GET', `/app/api/conversations/${c.json.id}`);
    const a = d.json.messages.find((m: any) => m.role === 'assistant');
    assert.equal(a.status, 'stopped');
    assert.match(a.content, /^w0 w1 w2 w3 /);
    assert.ok(!a.content.includes('w150'));
    assert.ok(a.completionTokens >= 4 && a.completionTokens < 150, `billed ${a.completionTokens}`);
  });

  test('a long answer is checkpointed while it streams, and a restart marks an interrupted one as failed, keeping its text', async () => {
    s.engine.reply = () => Array.from({ length: 120 }, (_, i) => `p${i} `);
    const c = await call(s, 'POST', '/app/api/conversations', {});
    const ac = new AbortController();
    const r = await fetch(`${s.url}/app/api/conversations/${c.json.id}/messages`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ parentId: null, content: 'take your time' }),
      signal: ac.signal,
    });
    const reader = r.body!.getReader();
    let seen = '';
    while (!seen.includes('p80 ')) seen += new TextDecoder().decode((await reader.read()).value);
    const mid = (await call(s, 'GET', `/app/api/conversations/${c.json.id}`)).json.messages.find((m: any) => m.role === 'assistant');
    assert.equal(mid.status, 'streaming');
    assert.match(mid.content, /^p0 p1 p2 /, 'the text so far was saved');
    // What a restarted server does first (here the stream is still open: settle only what it saved).
    assert.equal(s.store.settleInterrupted('The server stopped before this answer finished.'), 1);
    const after = s.store.getConversation('local', c.json.id)!.messages.find((m) => m.role === 'assistant')!;
    assert.equal(after.status, 'error');
    assert.equal(after.error, 'The server stopped before this answer finished.');
    assert.ok(after.content.startsWith('p0 p1 p2'));
    ac.abort();
  });

  test('an image reaches the model as bytes; the attachment is served to its owner; text-only models refuse it', async () => {
    s.engine.reply = () => ['ok'];
    const c = await call(s, 'POST', '/app/api/conversations', {});
    const bytes = png();
    const dataUrl = `data:image/png;base64,${bytes.toString('base64')}`;
    const r = await send(s, c.json.id, { parentId: null, content: 'what is this?', images: [{ dataUrl }] });
    assert.equal(r.status, 200);
    const parts = s.engine.requests.at(-1)!.messages.at(-1)!.content as any[];
    // The image comes before the question, as the message shows it and as vision models are trained.
    assert.deepEqual(
      parts.map((p) => p.type),
      ['image', 'text'],
    );
    assert.deepEqual(Buffer.from(parts[0].data), bytes);
    const d = await call(s, 'GET', `/app/api/conversations/${c.json.id}`);
    const id = d.json.messages[0].images[0];
    const img = await fetch(`${s.url}/app/api/attachments/${id}`);
    assert.equal(img.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), bytes);
    const refused = await send(s, c.json.id, { parentId: r.answer, content: 'and this?', images: [{ dataUrl }], model: TEXT_MODEL });
    assert.equal(refused.status, 400);
    assert.equal(JSON.parse(refused.raw).error.code, 'image_input_not_supported');
    assert.equal(
      (await call(s, 'GET', `/app/api/conversations/${c.json.id}`)).json.conversation.model,
      'tetra',
      'a refusal keeps the model',
    );
    // An edit keeps the image by its attachment id; another user's id (or a made-up one) is refused.
    const edited = await send(s, c.json.id, { parentId: null, content: 'and now?', images: [{ attachmentId: id }] });
    assert.equal(edited.status, 200);
    const kept = (s.engine.requests.at(-1)!.messages.at(-1)!.content as any[]).find((p) => p.type === 'image');
    assert.deepEqual(Buffer.from(kept.data), bytes);
    const forged = await send(s, c.json.id, { parentId: null, content: 'x', images: [{ attachmentId: 'a_nope' }] });
    assert.equal(forged.status, 400);
    assert.equal(JSON.parse(forged.raw).error.param, 'images[0].attachmentId');
    // Switching to a text-only model later in the chat: earlier images become a note, the chat goes on.
    const onText = await send(s, c.json.id, { parentId: r.answer, content: 'now in words', model: TEXT_MODEL });
    assert.equal(onText.status, 200);
    assert.deepEqual(s.engine.requests.at(-1)!.messages[0], { role: 'user', content: '[1 image not shown to this model]\nwhat is this?' });
    const bad = await send(s, c.json.id, { parentId: r.answer, content: 'x', images: [{ dataUrl: 'data:image/png;base64,AAAA' }] });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.raw).error.param, /^images\[0\]\.dataUrl/);
  });

  test('a new conversation starts in the same request as its first message; a refused first message leaves none', async () => {
    s.engine.reply = () => ['fine'];
    const before = (await call(s, 'GET', '/app/api/conversations')).json.data.length;
    const r = await send(s, 'new', { parentId: null, content: 'start here', conversation: { system: 'Be terse.', model: TEXT_MODEL } });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'fine');
    const id = r.conversation!;
    const d = await call(s, 'GET', `/app/api/conversations/${id}`);
    assert.equal(d.json.conversation.system, 'Be terse.');
    assert.equal(d.json.conversation.model, TEXT_MODEL);
    assert.deepEqual(
      d.json.messages.map((m: any) => m.id),
      [r.user, r.answer],
    );
    const refused = await send(s, 'new', {
      parentId: null,
      content: 'with an image',
      images: [{ dataUrl: `data:image/png;base64,${png().toString('base64')}` }],
      conversation: { model: TEXT_MODEL },
    });
    assert.equal(refused.status, 400);
    assert.equal((await call(s, 'GET', '/app/api/conversations')).json.data.length, before + 1, 'the refused start left no conversation');
    const badParent = await send(s, 'new', { parentId: r.answer, content: 'x' });
    assert.equal(badParent.status, 400);
  });

  test('export gives the branch on show as Markdown and JSON downloads', async () => {
    s.engine.reply = () => ['Sure: ', '`x = 1`'];
    const c = await call(s, 'POST', '/app/api/conversations', { title: 'Export me', system: 'Be brief.' });
    await send(s, c.json.id, { parentId: null, content: 'set x' });
    const md = await fetch(`${s.url}/app/api/conversations/${c.json.id}/export?format=md`);
    assert.match(md.headers.get('content-disposition')!, /^attachment; filename=".+\.md"$/);
    const text = await md.text();
    for (const piece of ['Export me', 'Be brief.', 'set x', 'Sure: `x = 1`']) assert.ok(text.includes(piece), piece);
    const js = (await (await fetch(`${s.url}/app/api/conversations/${c.json.id}/export?format=json`)).json()) as any;
    assert.equal(JSON.stringify(js).includes('Sure: `x = 1`'), true);
    const bad = await call(s, 'GET', `/app/api/conversations/${c.json.id}/export?format=pdf`);
    assert.equal(bad.status, 400);
  });
});

describe('chat app API: a long conversation list', () => {
  test('pages of 200 newest first; `next` continues with no chat twice and none lost', async () => {
    const s = await startAppServer({ delayMs: 0 });
    try {
      s.store.localUser('default');
      for (let i = 0; i < 230; i++) s.store.createConversation('local', { title: `chat ${i}` });
      const first = await call(s, 'GET', '/app/api/conversations');
      assert.equal(first.json.data.length, 200);
      assert.equal(typeof first.json.next, 'string');
      const second = await call(s, 'GET', `/app/api/conversations?before=${first.json.next}`);
      assert.equal(second.json.data.length, 30);
      assert.equal(second.json.next, null);
      const ids = [...first.json.data, ...second.json.data].map((c: any) => c.id);
      assert.equal(new Set(ids).size, 230);
      const stamps = [...first.json.data, ...second.json.data].map((c: any) => c.updatedAt);
      assert.deepEqual(stamps, [...stamps].sort().reverse(), 'newest first across pages');
      assert.equal((await call(s, 'GET', '/app/api/conversations?before=nonsense')).status, 400);
    } finally {
      await s.close();
    }
  });
});

describe('chat app API with users', () => {
  let s: AppServer;
  before(async () => {
    s = await startAppServer({
      delayMs: 0,
      users: { alice: { password: 'alice-password', plan: 'default' }, bob: { password: 'bob-password-1', plan: 'default' } },
    });
  });
  after(() => s.close());

  async function login(name: string, password: string) {
    const r = await call(s, 'POST', '/app/api/login', { name, password });
    const cookie = r.headers.get('set-cookie');
    return { r, cookie: cookie ? cookie.split(';')[0] : '' };
  }

  test('nobody signed in: the session asks for sign-in and every other route is 401', async () => {
    const r = await call(s, 'GET', '/app/api/session');
    assert.deepEqual(r.json, { auth: 'password', user: null });
    assert.equal((await call(s, 'GET', '/app/api/conversations')).status, 401);
  });

  test('a wrong password is 401; the right one sets an HttpOnly SameSite cookie; logout ends the session', async () => {
    assert.equal((await login('alice', 'wrong-password')).r.status, 401);
    const { r, cookie } = await login('alice', 'alice-password');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('set-cookie')!, /HttpOnly; SameSite=Lax/);
    assert.equal((await call(s, 'GET', '/app/api/session', undefined, { cookie })).json.user.name, 'alice');
    assert.equal((await call(s, 'POST', '/app/api/logout', undefined, { cookie })).status, 204);
    assert.equal((await call(s, 'GET', '/app/api/conversations', undefined, { cookie })).status, 401);
  });

  test('a user sees only their own conversations, messages and attachments', async () => {
    const a = (await login('alice', 'alice-password')).cookie;
    const b = (await login('bob', 'bob-password-1')).cookie;
    const c = await call(s, 'POST', '/app/api/conversations', { title: 'alice secret' }, { cookie: a });
    const sent = await send(
      s,
      c.json.id,
      { parentId: null, content: 'private', images: [{ dataUrl: `data:image/png;base64,${png().toString('base64')}` }] },
      { cookie: a },
    );
    assert.equal(sent.status, 200);
    assert.ok(
      s.ledger.report({ by: ['key'] }).some((r) => (r as unknown as { key: string }).key === 'user:alice'),
      'the ledger names the chat user who sent it',
    );
    const img = (await call(s, 'GET', `/app/api/conversations/${c.json.id}`, undefined, { cookie: a })).json.messages[0].images[0];
    assert.equal((await call(s, 'GET', '/app/api/conversations', undefined, { cookie: b })).json.data.length, 0);
    assert.equal((await call(s, 'GET', `/app/api/conversations/${c.json.id}`, undefined, { cookie: b })).status, 404);
    assert.equal((await call(s, 'PATCH', `/app/api/conversations/${c.json.id}`, { title: 'x' }, { cookie: b })).status, 404);
    assert.equal((await call(s, 'DELETE', `/app/api/conversations/${c.json.id}`, undefined, { cookie: b })).status, 404);
    assert.equal((await send(s, c.json.id, { parentId: sent.answer, content: 'hi' }, { cookie: b })).status, 404);
    assert.equal((await call(s, 'GET', `/app/api/attachments/${img}`, undefined, { cookie: b })).status, 404);
    assert.equal((await call(s, 'GET', `/app/api/conversations?q=private`, undefined, { cookie: b })).json.data.length, 0);
    assert.equal((await call(s, 'GET', `/app/api/conversations?q=private`, undefined, { cookie: a })).json.data.length, 1);
  });
});
