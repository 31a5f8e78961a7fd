import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  pollUntil,
  setUpAdmin,
  shot,
  shotIfFailed,
  startBrowser,
  startGatehouse,
  startStandin,
  type Browser,
  type Gatehouse,
  type Standin,
} from './harness';

// Consumers in the console against the real binary, in a real Chromium: a
// consumer created in the console gets a key shown once (copied with its
// button, gone after closing), the key calls an AI route through the
// gateway (the LLM stand-in behind it), a second key is added, the first is
// revoked and the gateway refuses it.

const admin = 'admin';
const password = 'consumers console password 1';
const consumer = 'team-e2e';

let gh: Gatehouse;
let b: Browser;
let standin: Standin;
/** The keys shown by the console, in the order they were created. */
const keys: string[] = [];

const api = (method: string, path: string, body?: unknown) =>
  adminApi(gh, admin, password)(method, path, body);

/** chat asks the AI route for an answer with a consumer key and returns the status. */
async function chat(key: string): Promise<number> {
  const res = await fetch(`${gh.gatewayUrl}/llm/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello from the consumers e2e' }],
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** chatAnswers waits until the gateway answers a key with `status` (configuration applies asynchronously). */
async function chatAnswers(key: string, status: number): Promise<void> {
  let last = 0;
  await pollUntil(`the gateway to answer ${status} to a key`, async () => {
    last = await chat(key);
    return last === status;
  }).catch((err: unknown) => {
    throw new Error(`${String(err)} (last answer ${last})`);
  });
}

/**
 * takeShownKey reads the key in the "new key" dialog, copies it with the
 * copy button, checks the clipboard holds it, and closes the dialog.
 */
async function takeShownKey(title: string): Promise<string> {
  const { page } = b;
  const dialog = page.getByRole('dialog').filter({ hasText: title });
  await dialog.getByText('You will not see it again').waitFor();
  const key = ((await dialog.getByTestId('new-consumer-key').textContent()) ?? '').trim();
  expect(key).toMatch(/^gh-[0-9a-f]{64}$/);
  await shot(page, `consumers-key-once-${keys.length + 1}`);
  await dialog.getByRole('button', { name: 'Copy key' }).click();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(key);
  await dialog.getByRole('button', { name: 'I have copied the key' }).click();
  await dialog.waitFor({ state: 'hidden' });
  expect(await page.content()).not.toContain(key);
  return key;
}

beforeAll(async () => {
  [gh, standin] = await Promise.all([startGatehouse(), startStandin()]);
  b = await startBrowser();
  await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: gh.consoleUrl,
  });
  b.page.setDefaultTimeout(15_000);
}, 180_000);

afterAll(async () => {
  await b.close();
  await gh.stop();
  await standin.stop();
});

afterEach((ctx) => shotIfFailed(ctx, b.page, 'consumers-'));

describe('consumers against the real binary', { concurrent: false }, () => {
  it('signs in and adds the LLM provider', async () => {
    await setUpAdmin(b.page, gh, admin, password);
    const res = await api('POST', '/llm-providers', {
      name: 'standin',
      type: 'openai',
      endpoint: standin.url,
      tokens: ['sk-consumers-e2e'],
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it('creates a consumer whose key is shown once, with a copy button', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Consumers' }).click();
    await page.getByRole('heading', { name: 'Consumers' }).waitFor();
    await page.getByRole('button', { name: /New consumer/ }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('Name').fill(consumer);
    await drawer.getByLabel('Budget (USD)').fill('5');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText(`Consumer ${consumer} created.`).waitFor();
    keys.push(await takeShownKey(`New key of ${consumer}`));

    // Not shown again: not after a reload, not by the API.
    await page.reload();
    const row = page.getByRole('row', { name: new RegExp(consumer) });
    await row.getByRole('button', { name: 'Revoke' }).waitFor();
    expect(await page.content()).not.toContain(keys[0]);
    const stored = await (await api('GET', `/consumers/${consumer}`)).text();
    expect(stored).not.toContain(keys[0]);

    // An AI route that admits consumers (it needs one to exist): the key
    // calls it, a made-up one does not.
    const res = await api('POST', '/ai-routes', {
      name: 'chat',
      pathPrefix: '/llm',
      upstreams: [{ provider: 'standin', modelMapping: { '*': 'gpt-4o-mini' } }],
      authConfig: { enabled: true },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    await chatAnswers(keys[0] ?? '', 200);
    expect(await chat(`gh-${'0'.repeat(64)}`)).toBe(401);
  });

  it('adds a second key, shown once, that works beside the first', async () => {
    const { page } = b;
    const row = page.getByRole('row', { name: new RegExp(consumer) });
    await row.getByRole('button', { name: `Add a key to ${consumer}` }).click();
    keys.push(await takeShownKey(`New key of ${consumer}`));
    expect(keys[1]).not.toBe(keys[0]);
    await expect.poll(() => row.getByRole('button', { name: 'Revoke' }).count()).toBe(2);
    await shot(page, 'consumers-02-two-keys');
    await chatAnswers(keys[1] ?? '', 200);
    expect(await chat(keys[0] ?? '')).toBe(200);
  });

  it('revokes the first key: the gateway refuses it, the second goes on', async () => {
    const { page } = b;
    const stored = (await (await api('GET', `/consumers/${consumer}`)).json()) as {
      credentials: { id: string }[];
    };
    const first = stored.credentials[0]?.id ?? '';
    await page.getByTestId(`consumer-key-${first}`).getByRole('button', { name: 'Revoke' }).click();
    await page
      .locator('.ant-popover:visible')
      .getByText(/Clients using it are refused from now on/)
      .waitFor();
    await page.locator('.ant-popover:visible').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText(`Key of ${consumer} revoked.`).waitFor();
    await page.getByTestId(`consumer-key-${first}`).waitFor({ state: 'detached' });
    const row = page.getByRole('row', { name: new RegExp(consumer) });
    expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(1);
    await chatAnswers(keys[0] ?? '', 401);
    expect(await chat(keys[1] ?? '')).toBe(200);
    await shot(page, 'consumers-03-revoked');
  });

  it('opens the usage drawer of the consumer', async () => {
    const { page } = b;
    await page.getByRole('button', { name: `Usage of ${consumer}` }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByText(`Usage of ${consumer}`).waitFor();
    await drawer.getByRole('radiogroup', { name: 'Period' }).waitFor();
    await shot(page, 'consumers-04-usage');
    await drawer.getByRole('button', { name: 'Close' }).click();
    await drawer.waitFor({ state: 'hidden' });
  });

  it('never fetched anything from outside 127.0.0.1', () => {
    expect(b.external).toEqual([]);
  });
});
