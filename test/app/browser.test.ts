/// <reference lib="dom" />
// The chat app in a real browser (Debian's chromium through playwright-core) against a real
// gateway with the app mounted and a scripted engine (fixtures/app-server.ts), so that streaming,
// Stop and timing are observable. Controls are found by their accessible names, as a screen reader
// finds them. Every test also checks that no request left the server's origin. Screenshots of the
// main views go to .tmp/screenshots.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launch, open, screenshot, type Session } from './fixtures/browser.ts';
import { startAppServer, TEXT_MODEL, type AppServer } from './fixtures/app-server.ts';

const skip = browserSkip();

/** The cursor after the first page of the local user's list. */
function lastOf(s: AppServer) {
  const last = s.store.listConversations('local').at(-1)!;
  return { updatedAt: last.updatedAt, id: last.id };
}

async function axeViolations(page: Page): Promise<string[]> {
  const { default: AxeBuilder } = await import('@axe-core/playwright');
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function sendMessage(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** The last assistant message's text once it stops changing (the stream ended). */
async function settledAnswer(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Send' }).waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
  return (await page.locator('[data-role="assistant"]').last().innerText()).trim();
}

async function done(s: Session): Promise<void> {
  assert.deepEqual(s.foreign, [], 'no request leaves the origin');
  await s.context.close();
}

describe('chat app in the browser', { skip }, () => {
  let browser: Browser;
  let s: AppServer;
  before(async () => {
    browser = await launch();
    s = await startAppServer({ delayMs: 10 });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  test('the page loads with a strict CSP, no console errors, no foreign request; first paint is measured', async () => {
    const paints: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = await open(browser, s.url);
      await t.page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
      paints.push(await t.page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN));
      if (i < 4) await done(t);
      else {
        const r = await t.page.request.get(s.url);
        assert.match(r.headers()['content-security-policy'], /default-src 'self'/);
        assert.equal(r.headers()['x-content-type-options'], 'nosniff');
        const script = t.requests.find((u) => u.includes('/app/assets/') && u.endsWith('.js'))!;
        assert.equal((await t.page.request.get(script)).headers()['x-content-type-options'], 'nosniff');
        assert.deepEqual(t.errors, []);
        assert.deepEqual(await axeViolations(t.page), []);
        await screenshot(t.page, 'empty-light');
        await done(t);
      }
    }
    paints.sort((a, b) => a - b);
    console.log(`first contentful paint, median of 5: ${paints[2].toFixed(0)} ms (goal <= 300)`);
    assert.ok(Number.isFinite(paints[2]));
  });

  test('send streams the answer, markdown renders, the stats show, and a reload keeps the conversation', async () => {
    s.engine.delayMs = 30;
    const t = await open(browser, s.url);
    await sendMessage(t.page, 'hello browser');
    const answer = t.page.locator('[data-role="assistant"]').last();
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 3; i++) {
      seen.add(await answer.innerText().catch(() => ''));
      await t.page.waitForTimeout(25);
    }
    assert.ok(seen.size >= 3, 'the answer grew in several steps');
    assert.equal(await settledAnswer(t.page), 'You said: hello browser. Here is bold text.');
    assert.equal(await answer.locator('strong').innerText(), 'bold');
    assert.match(await t.page.locator('[data-role="assistant"]').last().locator('..').innerText(), /tok\/s/);
    await screenshot(t.page, 'conversation-light');
    await t.page.reload();
    await t.page.locator('[data-role="user"]', { hasText: 'hello browser' }).waitFor();
    assert.equal(await settledAnswer(t.page), 'You said: hello browser. Here is bold text.');
    assert.deepEqual(await axeViolations(t.page), []);
    await done(t);
    s.engine.delayMs = 10;
  });

  test('Stop stops the server within 200 ms and marks the answer stopped', async () => {
    s.engine.delayMs = 40;
    s.engine.reply = () => Array.from({ length: 300 }, (_, i) => `w${i} `);
    try {
      const t = await open(browser, s.url);
      await t.page.emulateMedia({ reducedMotion: 'no-preference' }); // the dots animate (checked below)
      await sendMessage(t.page, 'a long one');
      await t.page.locator('[data-role="assistant"]', { hasText: 'w2' }).waitFor();
      // The typing dots wait half a second before they pulse: a running animation takes frames, and
      // CPU, from a model on the same machine while it reads the prompt (bench:app).
      const delays = await t.page.evaluate(() =>
        [...document.querySelectorAll('.typing span')].flatMap((e) => e.getAnimations().map((a) => Number(a.effect?.getTiming().delay))),
      );
      assert.equal(delays.length, 3, 'three dots, one animation each');
      assert.ok(
        delays.every((d) => d >= 500),
        `every dot waits 500 ms or more, got ${delays}`,
      );
      const aborts = s.engine.aborts;
      await t.page.getByRole('button', { name: 'Stop' }).click();
      await t.page.waitForTimeout(500);
      assert.equal(s.engine.aborts, aborts + 1, 'the engine saw the abort');
      assert.ok(s.engine.lastTextAt - s.engine.abortedAt < 200, 'nothing generated 200 ms after Stop');
      const shown = await t.page.locator('[data-role="assistant"]').last().innerText();
      await t.page.waitForTimeout(300);
      assert.equal(await t.page.locator('[data-role="assistant"]').last().innerText(), shown, 'no text arrives after Stop');
      await t.page
        .getByText(/stopped/i)
        .first()
        .waitFor();
      await done(t);
    } finally {
      s.engine.reply = (await import('./fixtures/script-engine.ts')).defaultReply;
      s.engine.delayMs = 10;
    }
  });

  test('another tab follows an answer as it grows, from the server checkpoints, to its end', async () => {
    s.engine.delayMs = 25;
    s.engine.reply = () => Array.from({ length: 200 }, (_, i) => `g${i} `);
    try {
      const a = await open(browser, s.url);
      await sendMessage(a.page, 'a long answer to follow');
      await a.page.locator('[data-role="assistant"]', { hasText: 'g100' }).waitFor();
      const b = await a.context.newPage();
      await b.goto(a.page.url());
      const followed = b.locator('[data-role="assistant"]').last();
      await followed.filter({ hasText: 'g50' }).waitFor();
      await b.getByText('still generating').waitFor();
      await followed
        .filter({ hasText: 'g199' })
        .waitFor({ timeout: 15_000 })
        .catch(async (e) => {
          console.log('B shows:', (await followed.textContent())?.slice(-80), await b.evaluate(() => location.hash));
          await screenshot(b, 'debug-follow');
          throw e;
        });
      await b.getByText('still generating').waitFor({ state: 'detached' });
      await done(a);
    } finally {
      s.engine.reply = (await import('./fixtures/script-engine.ts')).defaultReply;
      s.engine.delayMs = 10;
    }
  });

  test('regenerate and edit make branches the user can switch between, and they survive a reload', async () => {
    const t = await open(browser, s.url);
    await sendMessage(t.page, 'first question');
    await settledAnswer(t.page);
    await t.page.getByRole('button', { name: 'Regenerate' }).click();
    await settledAnswer(t.page);
    await t.page.getByText('2 / 2').first().waitFor();
    await t.page.getByRole('button', { name: 'Previous branch' }).first().click();
    await t.page.getByText('1 / 2').first().waitFor();
    await t.page.getByRole('button', { name: 'Edit' }).first().click();
    const editor = t.page.getByRole('textbox', { name: /edit/i });
    await editor.fill('edited question');
    await t.page.getByRole('button', { name: /save/i }).click();
    assert.equal(await settledAnswer(t.page), 'You said: edited question. Here is bold text.');
    await t.page.reload();
    await t.page.locator('[data-role="user"]', { hasText: 'edited question' }).waitFor();
    await t.page.getByRole('button', { name: 'Previous branch' }).first().click();
    await t.page.locator('[data-role="user"]', { hasText: 'first question' }).waitFor();
    await done(t);
  });

  test('the system message steers the answer', async () => {
    const t = await open(browser, s.url);
    const system = t.page.getByRole('textbox', { name: 'System message' });
    if (!(await system.isVisible()))
      await t.page
        .getByRole('button', { name: /settings|system/i })
        .first()
        .click();
    await system.fill('Answer in uppercase.');
    await sendMessage(t.page, 'quiet words');
    assert.equal(await settledAnswer(t.page), 'YOU SAID: QUIET WORDS. HERE IS BOLD TEXT.');
    assert.deepEqual(s.engine.requests.at(-1)!.messages[0], { role: 'system', content: 'Answer in uppercase.' });
    await done(t);
  });

  test('an attached image reaches the model; a text-only model explains why it takes none', async () => {
    const t = await open(browser, s.url);
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
      'base64',
    );
    await t.page.locator('input[type="file"]').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
    await t.page.getByRole('button', { name: 'Remove image' }).waitFor();
    await sendMessage(t.page, 'what is in it?');
    assert.match(await settledAnswer(t.page), /I see 1 image/);
    const part = (s.engine.requests.at(-1)!.messages.at(-1)!.content as { type: string; data?: Uint8Array }[]).find(
      (p) => p.type === 'image',
    )!;
    assert.deepEqual(Buffer.from(part.data!), png);
    await t.page.locator('img[alt="attached image"]').first().waitFor();
    // Editing the message keeps its image (sent by its stored id, not uploaded again).
    const bodies: string[] = [];
    t.page.on('request', (r) => {
      if (r.url().endsWith('/messages')) bodies.push(r.postData() ?? '');
    });
    await t.page.getByRole('button', { name: 'Edit' }).first().click();
    await t.page.getByRole('textbox', { name: /edit/i }).fill('and in this one?');
    await t.page.getByRole('button', { name: /save/i }).click();
    assert.match(await settledAnswer(t.page), /You said: and in this one\?\. I see 1 image/);
    const again = (s.engine.requests.at(-1)!.messages.at(-1)!.content as { type: string; data?: Uint8Array }[]).find(
      (p) => p.type === 'image',
    )!;
    assert.deepEqual(Buffer.from(again.data!), png);
    assert.ok(bodies.length === 1 && bodies[0].includes('"attachmentId"') && !bodies[0].includes('data:image'), 'sent by its id');
    await t.page.getByRole('combobox', { name: 'Model' }).selectOption(TEXT_MODEL);
    const attach = t.page.getByRole('button', { name: 'Attach image' });
    assert.equal(await attach.isDisabled(), true);
    await done(t);
  });

  test('images arrive by paste and by drag-and-drop too; the picked model is the one that answers', async () => {
    const t = await open(browser, s.url);
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==';
    const box = t.page.getByRole('textbox', { name: 'Message', exact: true });
    await box.evaluate((el, b64) => {
      const file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' });
      const pasted = new DataTransfer();
      pasted.items.add(file);
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true, cancelable: true }));
      const dropped = new DataTransfer();
      dropped.items.add(new File([file], 'dropped.png', { type: 'image/png' }));
      const target = el.closest('form') ?? el.parentElement!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dropped, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dropped, bubbles: true, cancelable: true }));
    }, png);
    await t.page.getByRole('button', { name: 'Remove image' }).nth(1).waitFor();
    await sendMessage(t.page, 'two pictures');
    assert.match(await settledAnswer(t.page), /I see 2 images/);
    await t.page.getByRole('combobox', { name: 'Model' }).selectOption(TEXT_MODEL);
    await sendMessage(t.page, 'text only now');
    await t.page
      .locator('[data-role="user"]', { hasText: 'text only now' })
      .waitFor()
      .catch(async (e) => {
        await screenshot(t.page, 'debug-model-pick');
        throw e;
      });
    await settledAnswer(t.page);
    const id = new URL(t.page.url()).hash.split('/').at(-1)!;
    const last = s.store.getConversation('local', id)!.messages.at(-1)!;
    assert.equal(last.model, TEXT_MODEL, 'the answer came from the model picked');
    await done(t);
  });

  test('Esc stops an answer and ? opens the shortcut sheet', async () => {
    s.engine.delayMs = 40;
    s.engine.reply = () => Array.from({ length: 300 }, (_, i) => `w${i} `);
    try {
      const t = await open(browser, s.url);
      await sendMessage(t.page, 'stop me with Esc');
      await t.page.locator('[data-role="assistant"]', { hasText: 'w2' }).waitFor();
      const aborts = s.engine.aborts;
      await t.page.keyboard.press('Escape');
      await t.page.waitForTimeout(300);
      assert.equal(s.engine.aborts, aborts + 1);
      await t.page.getByRole('button', { name: 'Send' }).waitFor();
      await t.page.locator('body').click({ position: { x: 640, y: 300 } });
      await t.page.keyboard.press('?');
      const sheet = t.page.getByRole('dialog', { name: 'Keyboard shortcuts' });
      await sheet.waitFor();
      assert.deepEqual(await axeViolations(t.page), []);
      await t.page.keyboard.press('Escape');
      await sheet.waitFor({ state: 'hidden' });
      await done(t);
    } finally {
      s.engine.reply = (await import('./fixtures/script-engine.ts')).defaultReply;
      s.engine.delayMs = 10;
    }
  });

  test('model output cannot run script; code is highlighted and copied exactly; math renders but prices stay prices', async () => {
    const code = 'const x = 1;\nconsole.log(x);';
    s.engine.reply = () => [
      '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> [link](javascript:window.__pwned=3)\n\n',
      '```js\n',
      `${code}\n`,
      '```\n\nIt costs $5 and $10. Also $$x^2$$ and \\(a+b\\).\n\n',
      '漢字 and 🙂 stay whole.',
    ];
    try {
      const t = await open(browser, s.url);
      await t.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
      let dialogs = 0;
      t.page.on('dialog', (d) => {
        dialogs++;
        void d.dismiss();
      });
      await sendMessage(t.page, 'show me');
      const text = await settledAnswer(t.page);
      const answer = t.page.locator('[data-role="assistant"]').last();
      assert.equal(await t.page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
      assert.equal(dialogs, 0);
      assert.equal(await answer.locator('script, [onerror], a[href^="javascript"]').count(), 0);
      assert.ok((await answer.locator('.hljs-keyword').count()) > 0, 'code is highlighted');
      assert.ok(text.includes('It costs $5 and $10.'), 'prices stay prices');
      assert.ok((await answer.locator('.katex').count()) >= 2, 'math renders');
      assert.ok(text.includes('漢字 and 🙂 stay whole.') && !text.includes('\uFFFD'));
      await answer.getByRole('button', { name: 'Copy' }).first().click();
      assert.equal(await t.page.evaluate(() => navigator.clipboard.readText()), code);
      await screenshot(t.page, 'markdown-light');
      await done(t);
    } finally {
      s.engine.reply = (await import('./fixtures/script-engine.ts')).defaultReply;
    }
  });

  test('keyboard: Shift+Enter is a newline and Enter during IME composition does not send', async () => {
    const t = await open(browser, s.url);
    const box = t.page.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('line one');
    await box.press('Shift+Enter');
    await box.type('line two');
    assert.equal(await box.inputValue(), 'line one\nline two');
    const before = s.engine.requests.length;
    await box.evaluate((el) => {
      el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true }));
      el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', keyCode: 229, bubbles: true, cancelable: true }));
    });
    await t.page.waitForTimeout(200);
    assert.equal(s.engine.requests.length, before, 'nothing was sent');
    assert.equal(await box.inputValue(), 'line one\nline two');
    await done(t);
  });

  test('auto-scroll never drags a reader who scrolled up', async () => {
    s.engine.delayMs = 15;
    s.engine.reply = () => Array.from({ length: 400 }, (_, i) => (i % 8 === 7 ? `line ${i}\n\n` : `w${i} `));
    try {
      const t = await open(browser, s.url, { viewport: { width: 1000, height: 500 } });
      await sendMessage(t.page, 'long');
      await t.page.locator('[data-role="assistant"]', { hasText: 'line 79' }).waitFor();
      const log = t.page.locator('[role="log"]');
      const top = await log.evaluate((el) => {
        let s: Element | null = el;
        while (s && s.scrollHeight <= s.clientHeight + 1) s = s.parentElement;
        const scroller = (s ?? document.scrollingElement) as HTMLElement;
        scroller.scrollTop = Math.max(0, scroller.scrollTop - 300);
        scroller.dispatchEvent(new Event('scroll'));
        (window as { __scroller?: HTMLElement }).__scroller = scroller;
        return scroller.scrollTop;
      });
      await t.page.waitForTimeout(400);
      await settledAnswer(t.page);
      const after = await t.page.evaluate(() => (window as { __scroller?: HTMLElement }).__scroller!.scrollTop);
      assert.ok(Math.abs(after - top) <= 2, `scrollTop moved from ${top} to ${after}`);
      await t.page.getByRole('button', { name: 'Jump to latest' }).waitFor();
      await done(t);
    } finally {
      s.engine.reply = (await import('./fixtures/script-engine.ts')).defaultReply;
      s.engine.delayMs = 10;
    }
  });

  test('rendering keeps up with 200 tokens/s: no token dropped or reordered; cost per token is measured', async () => {
    s.engine.delayMs = 5;
    const n = 600;
    s.engine.reply = () => Array.from({ length: n }, (_, i) => `t${i}${i % 25 === 24 ? '\n\n' : ' '}`);
    try {
      const t = await open(browser, s.url);
      await sendMessage(t.page, 'fast');
      const text = await settledAnswer(t.page);
      const words = text.split(/\s+/).filter(Boolean);
      assert.deepEqual(
        words,
        Array.from({ length: n }, (_, i) => `t${i}`),
      );
      const r = await t.page.evaluate(() => (window as { __tetraRender?: { tokens: number; ms: number; flushes: number } }).__tetraRender);
      assert.ok(r && r.tokens >= n, `render counters: ${JSON.stringify(r)}`);
      console.log(`render cost: ${(r.ms / r.tokens).toFixed(3)} ms/token over ${r.tokens} tokens in ${r.flushes} flushes (goal <= 2)`);
      await done(t);
    } finally {
      s.engine.reply = (await import('./fixtures/script-engine.ts')).defaultReply;
      s.engine.delayMs = 10;
    }
  });

  test('search finds a conversation by its text; rename and delete work from the sidebar', async () => {
    const t = await open(browser, s.url);
    await sendMessage(t.page, 'bananas are yellow');
    await settledAnswer(t.page);
    await t.page.getByRole('button', { name: 'New chat' }).click();
    await sendMessage(t.page, 'apples are red');
    await settledAnswer(t.page);
    const search = t.page.getByRole('searchbox', { name: 'Search chats' }).or(t.page.getByRole('textbox', { name: 'Search chats' }));
    await search.fill('bananas');
    const nav = t.page.getByRole('navigation');
    await nav.getByText('bananas are yellow').first().waitFor();
    await t.page.waitForFunction(() => !document.querySelector('nav')?.textContent?.includes('apples are red'));
    await search.fill('');
    await nav.getByText('apples are red').first().waitFor();
    const item = nav.getByRole('listitem').filter({ hasText: 'apples are red' });
    await item.hover();
    await item.getByRole('button', { name: 'Rename' }).click();
    const title = nav.getByRole('textbox', { name: 'Chat title' });
    await title.fill('Fruit colours');
    await title.press('Enter');
    await nav.getByText('Fruit colours').waitFor();
    const id = new URL(t.page.url()).hash.split('/').at(-1)!;
    assert.equal(s.store.getConversation('local', id)?.conversation.title, 'Fruit colours', 'the rename is stored');
    const renamed = nav.getByRole('listitem').filter({ hasText: 'Fruit colours' });
    await renamed.hover();
    await renamed.getByRole('button', { name: 'Delete' }).click();
    const dialog = t.page.getByRole('alertdialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await t.page.waitForFunction(() => !document.querySelector('nav')?.textContent?.includes('Fruit colours'));
    assert.equal(s.store.getConversation('local', id), null, 'the delete is stored');
    await done(t);
  });

  test('a long list of chats loads older pages on demand', async () => {
    s.store.localUser('default');
    for (let i = 0; i < 205; i++) s.store.createConversation('local', { title: `old chat ${i}` });
    const t = await open(browser, s.url);
    const nav = t.page.getByRole('navigation', { name: 'Chats' });
    const items = nav.getByRole('listitem');
    await nav.getByRole('button', { name: 'Load older chats' }).click();
    await t.page.waitForFunction(() => document.querySelectorAll('nav li').length > 200);
    const n = await items.count();
    assert.equal(n, s.store.listConversations('local').length + s.store.listConversations('local', undefined, lastOf(s)).length);
    assert.equal(await nav.getByRole('button', { name: 'Load older chats' }).count(), 0, 'no more pages');
    for (const c of s.store.listConversations('local').concat(s.store.listConversations('local', undefined, lastOf(s))))
      s.store.deleteConversation('local', c.id);
    await done(t);
  });

  test('dark mode and a phone-sized screen: readable, no horizontal scroll, axe finds no serious problem', async () => {
    const t = await open(browser, s.url, { colorScheme: 'dark' });
    await sendMessage(t.page, 'dark question');
    await settledAnswer(t.page);
    const bg = await t.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    assert.ok(r + g + b < 200, `dark background, got ${bg}`);
    assert.deepEqual(await axeViolations(t.page), []);
    await screenshot(t.page, 'conversation-dark');
    await done(t);
    const m = await open(browser, s.url, { viewport: { width: 390, height: 844 } });
    await m.page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
    assert.ok(await m.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await m.page.getByRole('button', { name: 'Toggle sidebar' }).click();
    await m.page.getByRole('button', { name: 'New chat' }).waitFor({ state: 'visible' });
    assert.deepEqual(await axeViolations(m.page), []);
    await screenshot(m.page, 'mobile-drawer');
    await done(m);
  });
});

describe('chat app in the browser: sign-in and the usage cap', { skip }, () => {
  let browser: Browser;
  let s: AppServer;
  before(async () => {
    browser = await launch();
    s = await startAppServer({
      delayMs: 5,
      plans: { plans: { default: {}, plus: { usageCap: { messages: 2, windowHours: 3 } } } },
      users: { alice: { password: 'alice-password', plan: 'plus' }, bob: { password: 'bob-password-1', plan: 'default' } },
    });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  async function signIn(t: Session, name: string, password: string) {
    await t.page.getByRole('textbox', { name: 'Name' }).fill(name);
    await t.page.getByLabel('Password').fill(password);
    await t.page.getByRole('button', { name: 'Sign in' }).click();
  }

  test('sign-in: a wrong password is an alert; users see only their own chats; the cookie is HttpOnly', async () => {
    const a = await open(browser, s.url);
    assert.deepEqual(await axeViolations(a.page), []);
    await screenshot(a.page, 'sign-in');
    await signIn(a, 'alice', 'not-her-password');
    await a.page.getByRole('alert').filter({ hasText: /wrong/i }).waitFor();
    await signIn(a, 'alice', 'alice-password');
    await sendMessage(a.page, 'alice private note');
    await settledAnswer(a.page);
    const cookie = (await a.context.cookies()).find((c) => c.name === 'tetra_session')!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    const b = await open(browser, s.url);
    await signIn(b, 'bob', 'bob-password-1');
    await b.page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
    await b.page.waitForTimeout(300);
    assert.equal(await b.page.getByText('alice private note').count(), 0);
    const aliceConv = new URL(a.page.url()).hash;
    await b.page.goto(s.url + '/' + aliceConv);
    await b.page.waitForTimeout(500);
    assert.equal(await b.page.getByText('alice private note').count(), 0);
    await done(a);
    await done(b);
  });

  test("another site cannot write with the signed-in user's cookie: its form post and its fetch are refused", async () => {
    const t = await open(browser, s.url);
    await signIn(t, 'bob', 'bob-password-1');
    await t.page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
    const before = (await (await t.page.request.get(`${s.url}/app/api/conversations`)).json()).data.length;
    // Another origin (another port): same-site for cookies, so only the server's check stands in the way.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="POST" action="${s.url}/app/api/conversations" enctype="text/plain">` +
          `<input name='{"title":"pwned","x":"' value='"}'></form>` +
          `<script>fetch("${s.url}/app/api/conversations", {method: "POST", credentials: "include", mode: "no-cors", ` +
          `headers: {"content-type": "text/plain"}, body: "{}"}).finally(() => document.getElementById("f").submit());</script>`,
      );
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const statuses: number[] = [];
    t.page.on('response', (r) => {
      if (r.url().endsWith('/app/api/conversations') && r.request().method() === 'POST') statuses.push(r.status());
    });
    await t.page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    await t.page.waitForTimeout(1000);
    evil.close();
    assert.ok(statuses.length >= 1 && statuses.every((x) => x === 403), `statuses ${statuses}`);
    const after = (await (await t.context.request.get(`${s.url}/app/api/conversations`)).json()).data;
    assert.equal(after.length, before, 'nothing was created');
    await t.context.close();
  });

  test('the meter shows what is left; at the cap a banner names the reset time and the server refuses', async () => {
    const t = await open(browser, s.url);
    await signIn(t, 'alice', 'alice-password');
    await t.page.getByText(/1 of 2 messages left/).waitFor();
    await sendMessage(t.page, 'second message');
    await settledAnswer(t.page);
    await t.page.getByText(/0 of 2 messages left/).waitFor();
    await sendMessage(t.page, 'third message');
    const banner = t.page.getByRole('alert').filter({ hasText: /limit reached/i });
    await banner.waitFor();
    assert.match(await banner.innerText(), /\d{1,2}:\d{2}/);
    assert.equal(await t.page.getByRole('textbox', { name: 'Message', exact: true }).isDisabled(), true);
    assert.deepEqual(await axeViolations(t.page), []);
    await screenshot(t.page, 'cap-banner');
    const refused = await t.page.evaluate(async () => {
      const r = await fetch('/app/api/conversations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const c = await r.json();
      const m = await fetch(`/app/api/conversations/${c.id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ parentId: null, content: 'sneaky' }),
      });
      return m.status;
    });
    assert.equal(refused, 429, 'the server enforces the cap, not the page');
    s.advance(3 * 3600_000 + 1000);
    await t.page.reload();
    await t.page.getByText(/2 of 2 messages left/).waitFor();
    assert.equal(await t.page.getByRole('textbox', { name: 'Message', exact: true }).isDisabled(), false);
    await done(t);
  });
});
