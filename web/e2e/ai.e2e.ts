import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
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

// The AI section against the real binary, its ai-proxy plugin and the LLM
// provider stand-in (tests/llmstandin), in a real Chromium: a provider, an
// AI route, a provider test, a chat streamed through the gateway, the
// snippets, the usage the chat left, and the section in Chinese.

const admin = 'admin';
const password = 'ai console password 1';
const providerToken = 'sk-e2e-provider-token';

let gh: Gatehouse;
let b: Browser;
let standin: Standin;

const api = (method: string, path: string, body?: unknown) =>
  adminApi(gh, admin, password)(method, path, body);

beforeAll(async () => {
  [gh, standin] = await Promise.all([startGatehouse(), startStandin()]);
  b = await startBrowser();
  b.page.setDefaultTimeout(15_000);
}, 180_000);

afterAll(async () => {
  await b.close();
  await gh.stop();
  await standin.stop();
});

afterEach((ctx) => shotIfFailed(ctx, b.page, 'ai-'));

describe('AI section against the real binary', { concurrent: false }, () => {
  it('signs in and lets the console call the gateway (cors)', async () => {
    await setUpAdmin(b.page, gh, admin, password);
    // The console and the gateway are two origins: the try-it chat needs CORS.
    const res = await api('POST', '/plugin-instances', {
      name: 'console-cors',
      plugin: 'cors',
      scope: { type: 'global' },
      config: { allowOrigins: [gh.consoleUrl] },
    });
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it('creates an LLM provider with a write-only token', async () => {
    const { page } = b;
    const nav = page.getByRole('navigation');
    await nav.getByText('AI', { exact: true }).waitFor();
    await nav.getByRole('link', { name: 'LLM providers' }).click();
    await page.getByRole('heading', { name: 'LLM providers' }).waitFor();
    await page.getByRole('button', { name: /New provider/ }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('Name').fill('standin');
    await drawer.getByLabel('Endpoint').fill(standin.url);
    await drawer.locator('input[aria-label="Token 1"]').fill(providerToken);
    await shot(page, 'ai-01-provider-drawer');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText('LLM provider standin created.').waitFor();
    const row = page.getByRole('row', { name: /standin/ });
    await row.getByText('1 stored, hidden').waitFor();
    // The token is never sent back to the browser.
    const stored = (await (await api('GET', '/llm-providers/standin')).json()) as {
      tokens: string[];
    };
    expect(stored.tokens).toEqual(['********']);
    expect(await page.content()).not.toContain(providerToken);

    // Editing keeps the token hidden behind "Replace tokens".
    await row.getByRole('button', { name: 'Edit standin' }).click();
    await drawer.getByText('1 stored, hidden').waitFor();
    await drawer.getByRole('button', { name: 'Replace tokens' }).waitFor();
    await drawer.getByRole('button', { name: 'Cancel' }).click();
    await drawer.waitFor({ state: 'hidden' });
  });

  it('tests providers and explains a refused token in plain words', async () => {
    const { page } = b;
    const res = await api('POST', '/llm-providers', {
      name: 'revoked',
      type: 'openai',
      endpoint: standin.url,
      tokens: ['bad-e2e-revoked-token'],
    });
    expect(res.status, await res.clone().text()).toBe(201);
    await page.reload();

    await page
      .getByRole('row', { name: /standin/ })
      .getByRole('button', { name: 'Test standin' })
      .click();
    const dialog = page.getByRole('dialog');
    const result = dialog.getByTestId('provider-test-result');
    await result.getByText('The provider answers').waitFor();
    await result.getByText('gpt-4o-mini', { exact: true }).waitFor();
    await shot(page, 'ai-02-provider-test-ok');
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'hidden' });

    await page
      .getByRole('row', { name: /revoked/ })
      .getByRole('button', { name: 'Test revoked' })
      .click();
    await dialog.getByText('The provider refused the token (401)').waitFor();
    await dialog.getByText(/Replace the tokens with a valid API key/).waitFor();
    await shot(page, 'ai-03-provider-test-401');
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('creates an AI route in front of the provider', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'AI routes' }).click();
    await page.getByRole('heading', { name: 'AI routes' }).waitFor();
    await page.getByRole('button', { name: /New AI route/ }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('Name').fill('chat');
    await drawer.getByLabel('Path prefix').fill('/llm');
    await drawer.getByLabel('Provider 1', { exact: true }).click();
    await page
      .locator('.ant-select-dropdown:visible .ant-select-item-option[title="standin"]')
      .click();
    // Two providers whose weights do not add up to 100: caught in the browser.
    await drawer
      .getByRole('button', { name: /Add a provider/ })
      .first()
      .click();
    await drawer.getByLabel('Weight of provider 2').fill('50');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await drawer.getByText(/The weights add up to 150/).waitFor();
    await drawer.getByRole('button', { name: 'Remove provider 2' }).click();
    await drawer
      .getByRole('button', { name: /Add a mapping/ })
      .first()
      .click();
    await drawer.getByLabel('Requested model 1 of Provider 1').fill('*');
    await drawer.getByLabel('Model sent for mapping 1 of Provider 1').fill('gpt-4o-mini');
    await shot(page, 'ai-04-route-drawer');
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText('AI route chat created.').waitFor();
    const row = page.getByRole('row', { name: /chat/ });
    await row.getByText('standin').waitFor();
    // The AI route shows in the route list too, read-only.
    const routes = (await (await api('GET', '/routes')).json()) as {
      items: { name: string; readOnly?: boolean }[];
    };
    expect(routes.items).toContainEqual(
      expect.objectContaining({ name: 'ai-route/chat', readOnly: true }),
    );
  });

  it('lists the AI route read-only among the routes, linking back to it', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Routes', exact: true }).click();
    const row = page.getByRole('row', { name: /ai-route\/chat/ });
    await row.getByText('AI route', { exact: true }).waitFor();
    expect(await row.getByRole('button', { name: 'Edit ai-route/chat' }).count()).toBe(0);
    await row.getByRole('link', { name: 'Open the AI route' }).click();
    await page.getByRole('heading', { name: 'chat' }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'AI routes' }).click();
  });

  it('streams an answer through the gateway in the try-it chat', async () => {
    const { page } = b;
    await page.getByRole('row', { name: /chat/ }).getByRole('button', { name: 'Try chat' }).click();
    await page.getByRole('heading', { name: 'chat' }).waitFor();
    const origin = page.getByLabel('Gateway address');
    await origin.fill(gh.gatewayUrl);
    await origin.press('Enter');
    await page.getByLabel('Model', { exact: true }).fill('any-model');
    await page.getByLabel('Message', { exact: true }).fill('hello from the console');
    await page.getByRole('button', { name: /Send/ }).click();
    const answer = page.getByTestId('try-it-answer');
    await expect.poll(() => answer.textContent()).toContain('hello from the console');
    const usage = page.getByTestId('try-it-usage');
    await expect.poll(() => usage.textContent()).toMatch(/\d+ tokens in · \d+ tokens out/);
    await page.getByText('Answered by gpt-4o-mini', { exact: false }).waitFor();
    await shot(page, 'ai-05-try-it');
  });

  it('shows the snippets for the route', async () => {
    const { page } = b;
    await page.getByRole('tab', { name: 'Connect' }).click();
    const base = `${gh.gatewayUrl}/llm`;
    expect(await page.getByTestId('ai-snippet-curl').textContent()).toContain(
      `${base}/v1/chat/completions`,
    );
    expect(await page.getByTestId('ai-snippet-openai-python').textContent()).toContain(
      `base_url="${base}/v1"`,
    );
    expect(await page.getByTestId('ai-snippet-anthropic').textContent()).toContain(
      `base_url="${base}"`,
    );
    expect(await page.getByTestId('ai-snippet-claude-code').textContent()).toContain(
      `ANTHROPIC_BASE_URL='${base}'`,
    );
    expect(await page.getByTestId('ai-snippet-codex').textContent()).toContain(
      `OPENAI_BASE_URL='${base}/v1'`,
    );
    await shot(page, 'ai-06-snippets');
  });

  it('counts the tokens of the chat in the usage view and on the dashboard', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'AI usage' }).click();
    await page.getByRole('heading', { name: 'AI usage' }).waitFor();
    const byModel = page.getByTestId('ai-usage-by-model');
    await byModel.getByText('gpt-4o-mini').waitFor();
    const input = page.getByTestId('ai-usage-input');
    await expect
      .poll(async () => Number((await input.textContent())?.replace(/\D+/g, '')))
      .toBeGreaterThan(0);
    await expect
      .poll(async () =>
        Number((await page.getByTestId('ai-usage-requests').textContent())?.replace(/\D+/g, '')),
      )
      .toBeGreaterThanOrEqual(1);
    await shot(page, 'ai-07-usage');

    await page.getByRole('navigation').getByRole('link', { name: 'Dashboard' }).click();
    const tile = page.getByTestId('ai-usage-tile');
    await tile.getByText('Tokens in').waitFor();
  });

  it('shows the AI section in Chinese', async () => {
    const { page } = b;
    await page.getByText('中文').click();
    const nav = page.getByRole('navigation');
    for (const label of ['LLM 提供方', 'AI 路由', 'AI 用量']) {
      await nav.getByRole('link', { name: label, exact: true }).waitFor();
    }
    await nav.getByRole('link', { name: 'AI 路由', exact: true }).click();
    await page.getByRole('heading', { name: 'AI 路由' }).waitFor();
    await page.getByRole('button', { name: /新建 AI 路由/ }).waitFor();
    await nav.getByRole('link', { name: 'AI 用量', exact: true }).click();
    await page.getByText('按模型', { exact: true }).waitFor();
    await shot(page, 'ai-08-usage-zh');
  });

  it('never fetched anything from outside 127.0.0.1', () => {
    expect(b.external).toEqual([]);
  });
});
