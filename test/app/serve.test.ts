/// <reference lib="dom" />
// The chat app as a user meets it: `tetra serve --checkpoint DIR` as its own process (a real tetra
// model: a one-layer byte model pretrained here for a few seconds, so its answers are gibberish but real), the
// page in Debian's chromium: send, the answer streams from the model and is kept, a reload shows it
// again; `tetra users create` turns sign-in on for the running server; --no-app leaves `/` to the API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startServer, stop, type Running } from '../gateway/fixtures/processes.ts';
import { tinyCheckpoint } from '../gateway/fixture.ts';
import { pretrainTinyBase } from '../fixtures/tiny-base.ts';
import { browserSkip, launch, open } from './fixtures/browser.ts';

const TETRA = join(import.meta.dirname, '../../bin/tetra.js');
const skip = browserSkip();

describe('tetra serve with the chat app', { skip }, () => {
  let browser: Browser;
  let srv: Running;
  let url: string;
  const home = mkdtempSync(join(tmpdir(), 'tetra-home-'));
  const env = { TETRA_HOME: home, TETRA_SCRYPT_LOG2N: '10' };
  before(async () => {
    writeFileSync(join(home, 'plans.json'), JSON.stringify({ plans: { default: { rpm: 1000, tpm: 1_000_000 } } }));
    browser = await launch();
    srv = await startServer(TETRA, env, 60_000, ['serve', '--checkpoint', await pretrainTinyBase(20), '--port', '0']);
    url = `http://127.0.0.1:${srv.port}`;
  });
  after(async () => {
    await browser?.close();
    if (srv) await stop(srv);
  });

  test('a real model answers through the page, and the answer is kept across a reload', async () => {
    assert.match(srv.stderr(), /chat app at \/ \(no users/);
    const t = await open(browser, url);
    // Greedy decoding: the same answer every run (sampled at temperature 1, a model this small may end its turn at once).
    await t.page.getByRole('button', { name: 'Chat settings' }).click();
    await t.page.getByRole('spinbutton', { name: 'Temperature' }).fill('0');
    await t.page.getByRole('spinbutton', { name: 'Temperature' }).press('Tab');
    await t.page.getByRole('spinbutton', { name: 'Max tokens' }).fill('12');
    await t.page.getByRole('spinbutton', { name: 'Max tokens' }).press('Tab');
    const box = t.page.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('Hello, model');
    await box.press('Enter');
    await t.page.getByRole('button', { name: 'Send' }).waitFor({ timeout: 60_000 });
    await t.page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), undefined, { timeout: 60_000 });
    const answer = await t.page.locator('[data-role="assistant"]').last().textContent();
    assert.ok(answer && answer.trim().length > 0, 'the model wrote something');
    const list = (await (await t.page.request.get(`${url}/app/api/conversations`)).json()) as { data: { id: string }[] };
    assert.equal(list.data.length, 1);
    // The server keeps the answer as it ends the stream; on a loaded machine the page can be done
    // first, so ask again while it still says 'streaming' (as the page does), for at most 30 s.
    type Detail = { messages: { role: string; status: string; completionTokens: number }[] };
    const stored = async () =>
      ((await (await t.page.request.get(`${url}/app/api/conversations/${list.data[0].id}`)).json()) as Detail).messages.find(
        (m) => m.role === 'assistant',
      )!;
    let kept = await stored();
    for (const until = Date.now() + 30_000; kept.status === 'streaming' && Date.now() < until; kept = await stored())
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(kept.status, 'done');
    assert.ok(kept.completionTokens > 0 && kept.completionTokens <= 12, `completion tokens ${kept.completionTokens} (max tokens 12)`);
    await t.page.reload();
    await t.page.locator('[data-role="user"]', { hasText: 'Hello, model' }).waitFor();
    assert.deepEqual(t.foreign, []);
    await t.context.close();
  });

  test('`tetra users create` turns sign-in on for the running server', async () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', TETRA, 'users', 'create', 'carol', '--plan', 'default', '--password-stdin'], {
      env: { ...process.env, ...env },
      input: 'carol-password\n',
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const t = await open(browser, url);
    await t.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await t.page.getByRole('textbox', { name: 'Name' }).fill('carol');
    await t.page.getByLabel('Password').fill('carol-password');
    await t.page.getByRole('button', { name: 'Sign in' }).click();
    await t.page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
    assert.equal(await t.page.getByText('Hello, model').count(), 0, "the local user's chats are not carol's");
    await t.context.close();
  });
});

describe('tetra serve --no-app', () => {
  test('leaves / to the API: an unknown URL in the error envelope', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tetra-home-'));
    const srv = await startServer(TETRA, { TETRA_HOME: home }, 60_000, [
      'serve',
      '--checkpoint',
      tinyCheckpoint(),
      '--port',
      '0',
      '--no-app',
    ]);
    try {
      const r = await fetch(`http://127.0.0.1:${srv.port}/`);
      assert.equal(r.status, 404);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unknown_url');
      assert.match(srv.stderr(), /chat app off/);
    } finally {
      await stop(srv);
    }
  });
});
