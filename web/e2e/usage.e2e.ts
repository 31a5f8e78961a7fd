import type { Locator } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerUsage } from '../src/api/types';
import {
  adminApi,
  pollUntil,
  setUpAdmin,
  shot,
  shotIfFailed,
  startBrowser,
  startGatehouse,
  startRedis,
  startStandin,
  type Browser,
  type Gatehouse,
  type Redis,
  type Standin,
} from './harness';

// A consumer's usage in the console against the real binary, a real Redis
// and the LLM provider stand-in, in a real Chromium. The consumer has a
// monthly budget; it spends a known number of tokens on two priced models
// through the gateway; the console then shows exactly what that cost: the
// bar in the consumers list, the drawer's totals and figures per model, what
// is left of the budget. A top-up the form or the server refuses changes
// nothing; a top-up of $10 adds exactly $10; a reset brings the spending
// back to zero, in Redis and in the database.

const admin = 'admin';
const password = 'usage console password 1';
const consumer = 'team-usage';
const budgetUsd = 5;

// The stand-in counts words: the prompt is 7 input tokens and its answer,
// "echo: " and the prompt, 8 output tokens.
const prompt = 'how many tokens does this prompt cost';
const inputTokens = 7;
const outputTokens = 8;

/** Prices in USD per million tokens, so that tokens × price is micro-dollars. */
interface Price {
  model: string;
  input: number;
  output: number;
}
const small: Price = { model: 'e2e-small', input: 10_000, output: 20_000 };
const large: Price = { model: 'e2e-large', input: 30_000, output: 60_000 };
/** The calls the consumer makes, in order. */
const calls = [small, large, small];

/** costMicros is what one call of `price` costs, in micro-dollars. */
const costMicros = (price: Price) => inputTokens * price.input + outputTokens * price.output;
const spentMicros = calls.reduce((sum, p) => sum + costMicros(p), 0);
const budgetMicros = budgetUsd * 1e6;

/**
 * dollars shows micro-dollars as the console does for whole cents. The
 * prices are chosen so that every figure of this test is whole cents
 * (checked here, so that a changed price cannot make the test compare
 * roundings).
 */
function dollars(micros: number): string {
  if (micros % 10_000 !== 0) throw new Error(`${micros} micro-dollars is not whole cents`);
  return `$${(micros / 1e6).toFixed(2)}`;
}

let gh: Gatehouse;
let b: Browser;
let redis: Redis;
let standin: Standin;
let key = '';

const api = (method: string, path: string, body?: unknown) =>
  adminApi(gh, admin, password)(method, path, body);

/** usageNow is what the admin API says the consumer used this month. */
async function usageNow(): Promise<ConsumerUsage> {
  const res = await api('GET', `/consumers/${consumer}/usage?period=month`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as ConsumerUsage;
}

interface ChatAnswer {
  status: number;
  body: {
    model?: string;
    usage?: { prompt_tokens: number; completion_tokens: number };
    error?: { code?: string };
  };
}

/** chat asks the AI route for an answer to the prompt with the consumer's key. */
async function chat(model: string): Promise<ChatAnswer> {
  const res = await fetch(`${gh.gatewayUrl}/llm/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model,
      // A small max_tokens keeps the reservation before each call well
      // inside the budget.
      max_tokens: 16,
      messages: [{ role: 'user', content: prompt }],
    }),
  });
  const text = await res.text();
  let body: ChatAnswer['body'] = {};
  try {
    body = JSON.parse(text) as ChatAnswer['body'];
  } catch {
    // Not JSON (such as a 404 before the route exists): the status says enough.
  }
  return { status: res.status, body };
}

/** describedBy is the text of what a form control's aria-describedby points at (its help, its error). */
async function describedBy(control: Locator): Promise<string> {
  return control.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .map((id) => (id ? (document.getElementById(id)?.textContent ?? '') : ''))
      .join(' '),
  );
}

/** modelRows are the rows of the drawer's table per model, cell by cell. */
async function modelRows(drawer: Locator): Promise<string[][]> {
  return drawer
    .getByTestId('consumer-usage-models')
    .locator('tbody tr.ant-table-row')
    .evaluateAll((rows) =>
      rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent.trim())),
    );
}

/** statistic is the value shown in one of the drawer's figure cards. */
function statistic(drawer: Locator, id: string): Promise<string | null> {
  return drawer.getByTestId(`consumer-usage-${id}`).locator('.ant-statistic-content').textContent();
}

beforeAll(async () => {
  [redis, standin] = await Promise.all([startRedis('usage e2e redis password'), startStandin()]);
  gh = await startGatehouse({
    env: {
      GATEHOUSE_REDIS_ADDR: redis.address,
      GATEHOUSE_REDIS_PASSWORD: redis.password,
      // Roll the counters up into the database often, so that a rollup
      // runs between the steps (a reset must not be undone by one).
      GATEHOUSE_USAGE_ROLLUP_INTERVAL: '1s',
    },
  });
  b = await startBrowser();
  b.page.setDefaultTimeout(15_000);
}, 180_000);

afterAll(async () => {
  await b.close();
  await gh.stop();
  await Promise.all([standin.stop(), redis.stop()]);
});

afterEach((ctx) => shotIfFailed(ctx, b.page, 'usage-'));

describe('consumer usage against the real binary and Redis', { concurrent: false }, () => {
  it('signs in and prices two models, one in the model prices page', async () => {
    await setUpAdmin(b.page, gh, admin, password);
    const res = await api('POST', '/model-prices', {
      name: small.model,
      model: small.model,
      input: small.input,
      output: small.output,
      date: '2026-12-01',
    });
    expect(res.status, await res.clone().text()).toBe(201);

    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Model prices' }).click();
    await page.getByRole('heading', { name: 'Model prices' }).waitFor();
    await page.getByRole('button', { name: /New price/ }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByLabel('Name').fill(large.model);
    await drawer.getByLabel('Model', { exact: true }).fill(large.model);
    await drawer.getByLabel('Input / 1M', { exact: true }).fill(String(large.input));
    await drawer.getByLabel('Output / 1M', { exact: true }).fill(String(large.output));
    await drawer.getByRole('button', { name: 'Save' }).click();
    await page.getByText(`Price ${large.model} saved.`).waitFor();
    await drawer.waitFor({ state: 'hidden' });
    const stored = (await (await api('GET', `/model-prices/${large.model}`)).json()) as Price;
    expect(stored).toMatchObject(large);
  });

  it('spends a known number of tokens through the gateway with a consumer key', async () => {
    let res = await api('POST', '/llm-providers', {
      name: 'standin',
      type: 'openai',
      endpoint: standin.url,
      tokens: ['sk-usage-e2e'],
    });
    expect(res.status, await res.clone().text()).toBe(201);
    res = await api('POST', '/consumers', {
      name: consumer,
      allowedModels: ['e2e-*'],
      budget: { usd: budgetUsd, period: 'month' },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const created = (await res.json()) as { credentials: { key: string }[] };
    key = created.credentials[0]?.key ?? '';
    expect(key).toMatch(/^gh-[0-9a-f]{64}$/);
    res = await api('POST', '/ai-routes', {
      name: 'chat',
      pathPrefix: '/llm',
      upstreams: [{ provider: 'standin' }],
      authConfig: { enabled: true },
    });
    expect(res.status, await res.clone().text()).toBe(201);

    // The configuration applies asynchronously. A model the consumer may
    // not use is refused (403) only once the key is known and its
    // allowances are enforced, and it costs nothing: wait for that.
    let last = 0;
    await pollUntil('the gateway to enforce the consumer', async () => {
      const a = await chat('not-allowed-model');
      last = a.status;
      return a.status === 403 && a.body.error?.code === 'model_not_allowed';
    }).catch((err: unknown) => {
      throw new Error(`${String(err)} (last answer ${last})`);
    });

    for (const price of calls) {
      const a = await chat(price.model);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body.model).toBe(price.model);
      expect(a.body.usage).toMatchObject({
        prompt_tokens: inputTokens,
        completion_tokens: outputTokens,
      });
    }
    // Each call settles just after its answer: wait until all are counted.
    await expect.poll(async () => (await usageNow()).totals.requests).toBe(calls.length);
    const u = await usageNow();
    expect(u.source).toBe('redis');
    expect(u.budget?.spentUsd).toBeCloseTo(spentMicros / 1e6, 6);
  });

  it('shows the budget bar in the consumers list', async () => {
    const { page } = b;
    await page.getByRole('navigation').getByRole('link', { name: 'Consumers' }).click();
    await page.getByRole('heading', { name: 'Consumers' }).waitFor();
    const bar = page.getByRole('row', { name: new RegExp(consumer) }).getByTestId('usage-budget');
    await bar.getByText(`Budget: ${dollars(spentMicros)} of ${dollars(budgetMicros)}`).waitFor();
    expect(await bar.getByTestId('usage-budget-left').textContent()).toBe(
      `${dollars(budgetMicros - spentMicros)} left this month`,
    );
    expect(await bar.getAttribute('data-level')).toBe('ok');
    expect(await bar.getByRole('progressbar').getAttribute('aria-valuenow')).toBe(
      String(Math.floor((spentMicros / budgetMicros) * 100)),
    );
    await shot(page, 'usage-01-list');
  });

  it('shows the spending per model and what is left in the usage drawer', async () => {
    const { page } = b;
    await page.getByRole('button', { name: `Usage of ${consumer}` }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByText(`Usage of ${consumer}`).waitFor();
    const bar = drawer.getByTestId('usage-budget');
    await bar.getByText(`Budget: ${dollars(spentMicros)} of ${dollars(budgetMicros)}`).waitFor();
    expect(await bar.getByTestId('usage-budget-left').textContent()).toBe(
      `${dollars(budgetMicros - spentMicros)} left this month`,
    );
    expect(await statistic(drawer, 'spent')).toBe(dollars(spentMicros));
    expect(await statistic(drawer, 'input')).toBe(String(calls.length * inputTokens));
    expect(await statistic(drawer, 'output')).toBe(String(calls.length * outputTokens));
    expect(await statistic(drawer, 'requests')).toBe(String(calls.length));
    // Most expensive first: model, tokens in, cached in, tokens out, requests, cost.
    const row = (price: Price) => {
      const n = calls.filter((p) => p === price).length;
      return [
        price.model,
        String(n * inputTokens),
        '0',
        String(n * outputTokens),
        String(n),
        dollars(n * costMicros(price)),
      ];
    };
    expect(await modelRows(drawer)).toEqual([row(large), row(small)]);
    await shot(page, 'usage-02-drawer');
  });

  it('refuses a top-up of -1 under the amount field and changes nothing', async () => {
    const { page } = b;
    const drawer = page.locator('.ant-drawer-open');
    const topUps: string[] = [];
    const record = (req: { url: () => string; method: () => string }) => {
      if (req.method() === 'POST' && req.url().endsWith('/usage/top-up')) topUps.push(req.url());
    };
    page.on('request', record);
    try {
      await drawer.getByRole('button', { name: 'Top up' }).click();
      const dialog = page.getByRole('dialog', { name: `Top up ${consumer}` });
      const amount = dialog.getByLabel('Add to the budget (USD)');
      expect(await describedBy(amount)).toContain(
        `${dollars(budgetMicros - spentMicros)} left this month`,
      );
      await amount.fill('-1');
      await dialog.getByRole('button', { name: 'Top up' }).click();
      await expect
        .poll(() => describedBy(amount))
        .toContain('Enter an amount above 0, or leave it empty.');
      expect(await amount.getAttribute('aria-invalid')).toBe('true');
      await shot(page, 'usage-03-top-up-refused');
      expect(topUps).toEqual([]);

      // What only the server refuses is shown under the field it names too.
      await amount.fill('2000000000');
      await dialog.getByRole('button', { name: 'Top up' }).click();
      await expect
        .poll(() => describedBy(amount))
        .toContain('must be a positive amount of dollars up to 1e9');
      expect(topUps).toHaveLength(1);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      page.off('request', record);
    }
    const u = await usageNow();
    expect(u.budget).toMatchObject({
      topUpUsd: 0,
      remainingUsd: (budgetMicros - spentMicros) / 1e6,
    });
    expect(await drawer.getByTestId('usage-budget-left').textContent()).toBe(
      `${dollars(budgetMicros - spentMicros)} left this month`,
    );
  });

  it('tops up $10: what is left rises by exactly $10', async () => {
    const { page } = b;
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByRole('button', { name: 'Top up' }).click();
    const dialog = page.getByRole('dialog', { name: `Top up ${consumer}` });
    await dialog.getByLabel('Add to the budget (USD)').fill('10');
    await dialog.getByRole('button', { name: 'Top up' }).click();
    await page.getByText(`${consumer} topped up.`).waitFor();
    await dialog.waitFor({ state: 'hidden' });
    const topUp = 10 * 1e6;
    const bar = drawer.getByTestId('usage-budget');
    await bar
      .getByText(`Budget: ${dollars(spentMicros)} of ${dollars(budgetMicros + topUp)}`)
      .waitFor();
    expect(await bar.getByTestId('usage-budget-left').textContent()).toBe(
      `${dollars(budgetMicros + topUp - spentMicros)} left this month`,
    );
    await bar.getByText(`incl. ${dollars(topUp)} topped up`).waitFor();
    expect(await statistic(drawer, 'spent')).toBe(dollars(spentMicros));
    const u = await usageNow();
    expect(u.budget?.topUpUsd).toBe(10);
    expect(u.budget?.remainingUsd).toBeCloseTo((budgetMicros + topUp - spentMicros) / 1e6, 6);
    await shot(page, 'usage-04-topped-up');
  });

  it('resets the usage after asking: the spending is back to zero', async () => {
    const { page } = b;
    const drawer = page.locator('.ant-drawer-open');
    await drawer.getByRole('button', { name: 'Reset usage' }).click();
    const confirm = page.locator('.ant-popover:visible');
    await confirm
      .getByText(`Reset the usage of ${consumer} for this month?`, { exact: false })
      .waitFor();
    await confirm.getByRole('button', { name: 'Reset', exact: true }).click();
    await page.getByText(`Usage of ${consumer} for this month reset.`).waitFor();
    const bar = drawer.getByTestId('usage-budget');
    await bar.getByText(`Budget: ${dollars(0)} of ${dollars(budgetMicros)}`).waitFor();
    expect(await bar.getByTestId('usage-budget-left').textContent()).toBe(
      `${dollars(budgetMicros)} left this month`,
    );
    expect(await bar.getByText(/topped up/).count()).toBe(0);
    expect(await statistic(drawer, 'spent')).toBe(dollars(0));
    expect(await statistic(drawer, 'requests')).toBe('0');
    expect(await modelRows(drawer)).toEqual([]);
    await drawer.getByText('No AI calls this month.').waitFor();
    await shot(page, 'usage-05-reset');

    await drawer.getByRole('button', { name: 'Close' }).click();
    await drawer.waitFor({ state: 'hidden' });
    const listBar = page
      .getByRole('row', { name: new RegExp(consumer) })
      .getByTestId('usage-budget');
    await listBar.getByText(`Budget: ${dollars(0)} of ${dollars(budgetMicros)}`).waitFor();
    const u = await usageNow();
    expect(u.budget).toMatchObject({ spentUsd: 0, topUpUsd: 0, remainingUsd: budgetUsd });
    expect(u.models).toEqual([]);
  });

  it('shows the reset figures from the database once Redis is gone', async () => {
    // The reset is written into the database at once, and no rollup (every
    // second here) brings the old counters back.
    await redis.stop();
    const { page } = b;
    await page.reload();
    await page.getByRole('button', { name: `Usage of ${consumer}` }).click();
    const drawer = page.locator('.ant-drawer-open');
    await drawer
      .getByRole('alert')
      .filter({ hasText: /database/ })
      .waitFor();
    const u = await usageNow();
    expect(u.source).toBe('database');
    expect(u.budget).toMatchObject({ spentUsd: 0, remainingUsd: budgetUsd });
    expect(u.models).toEqual([]);
    expect(await statistic(drawer, 'spent')).toBe(dollars(0));
    expect(await drawer.getByTestId('usage-budget-left').textContent()).toBe(
      `${dollars(budgetMicros)} left this month`,
    );
    expect(await modelRows(drawer)).toEqual([]);
    await drawer.getByText('No AI calls this month.').waitFor();
    await shot(page, 'usage-06-from-database');
    await drawer.getByRole('button', { name: 'Close' }).click();
  });

  it('never fetched anything from outside 127.0.0.1', () => {
    expect(b.external).toEqual([]);
  });
});
