// @vitest-environment jsdom
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Consumer } from '../../api/types';
import { languageStorageKey } from '../../i18n/context';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { budgetOf, usageOf } from '../../test/consumerUsage';
import { renderConsole } from '../../test/render';
import { ConsumerUsageDrawer } from './ConsumerUsageDrawer';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

const user = () => userEvent.setup({ delay: null });
const teamA: Consumer = {
  name: 'team-a',
  credentials: [],
  allowedModels: [],
  allowedAiRoutes: [],
  quota: { tokens: 2000000, period: 'month' },
  budget: { usd: 50, period: 'month' },
};
const path = '/api/v1/consumers/team-a/usage';
const posted = (suffix: string) =>
  server.received.filter((r) => r.method === 'POST' && r.url === `${path}${suffix}`);

/** dialogTitled finds a dialog by its title (in jsdom every antd dialog is labelled by the first). */
async function dialogTitled(title: string) {
  const heading = await screen.findByText(title);
  return within(heading.closest('[role="dialog"]') as HTMLElement);
}

function open() {
  renderConsole(<ConsumerUsageDrawer consumer={teamA} onClose={() => undefined} />, {
    baseUrl: server.url,
  });
  return dialogTitled('Usage of team-a');
}

describe('ConsumerUsageDrawer', () => {
  it('shows the month per model and switches to the day', async () => {
    server.on(`GET ${path}`, (req, res) => {
      const day = req.url.endsWith('period=day');
      sendJSON(
        res,
        200,
        day
          ? usageOf({
              period: 'day',
              totals: { ...usageOf().totals, usd: 0, requests: 0 },
              models: [],
            })
          : usageOf({
              models: [
                ...usageOf().models,
                {
                  model: 'claude-sonnet-4',
                  inputTokens: 2000,
                  outputTokens: 500,
                  cachedInputTokens: 1500,
                  usd: 1.25,
                  requests: 2,
                },
              ],
            }),
      );
    });
    const drawer = await open();
    const models = within(await drawer.findByTestId('consumer-usage-models'));
    await models.findByText('claude-sonnet-4');
    const cells = models
      .getAllByRole('row')
      .slice(1)
      .map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent),
      );
    // The most expensive model first: model, in, cached in, out, requests, cost.
    expect(cells).toEqual([
      ['claude-sonnet-4', '2,000', '1,500', '500', '2', '$1.25'],
      ['gpt-4o-mini', '1,200', '0', '300', '3', '$0.0042'],
    ]);
    expect(drawer.getByTestId('consumer-usage-spent').textContent).toContain('$0.0042');
    expect(drawer.getByText('Budget: $0.0042 of $50.00')).toBeTruthy();

    await user().click(drawer.getByText('Day'));
    expect(await drawer.findByText('No AI calls today.')).toBeTruthy();
    expect(server.received.map((r) => r.url)).toContain(`${path}?period=day`);
  });

  it('tops up: refuses amounts that are not positive, sends the rest and shows what is left', async () => {
    let current = usageOf();
    server.on(`GET ${path}`, (_req, res) => sendJSON(res, 200, current));
    server.on(`POST ${path}/top-up`, (_req, res) => {
      current = usageOf({ budget: budgetOf({ topUpUsd: 10, remainingUsd: 59.9958 }) });
      sendJSON(res, 200, current);
    });
    const drawer = await open();
    expect(await drawer.findByText('$49.99 left this month')).toBeTruthy();
    await user().click(drawer.getByRole('button', { name: /Top up/ }));
    const dialog = await dialogTitled('Top up team-a');

    // Nothing entered: nothing sent.
    await user().click(dialog.getByRole('button', { name: 'Top up' }));
    expect(
      await dialog.findByText('Enter an amount to add to the budget or to the quota.'),
    ).toBeTruthy();
    await user().type(dialog.getByLabelText('Add to the budget (USD)'), '-5');
    await user().click(dialog.getByRole('button', { name: 'Top up' }));
    expect(await dialog.findByText('Enter an amount above 0, or leave it empty.')).toBeTruthy();
    expect(posted('/top-up')).toHaveLength(0);

    await user().clear(dialog.getByLabelText('Add to the budget (USD)'));
    await user().type(dialog.getByLabelText('Add to the budget (USD)'), '10');
    await user().click(dialog.getByRole('button', { name: 'Top up' }));
    expect(await screen.findByText('team-a topped up.')).toBeTruthy();
    expect(JSON.parse(posted('/top-up')[0]?.body ?? '')).toEqual({ usd: 10 });
    expect(await drawer.findByText('$59.99 left this month')).toBeTruthy();
    expect(drawer.getByText('incl. $10.00 topped up')).toBeTruthy();
  });

  it('shows what the API refused under the field it names', async () => {
    server.on(`GET ${path}`, (_req, res) => sendJSON(res, 200, usageOf()));
    server.on(`POST ${path}/top-up`, (_req, res) =>
      sendJSON(res, 400, {
        error: {
          code: 'invalid_request',
          message: 'the top-up is not valid',
          details: [{ field: 'tokens', message: 'tokens must be at most 9007199254740991' }],
        },
      }),
    );
    const drawer = await open();
    await drawer.findByText('gpt-4o-mini');
    await user().click(drawer.getByRole('button', { name: /Top up/ }));
    const dialog = await dialogTitled('Top up team-a');
    await user().type(dialog.getByLabelText('Add to the token quota'), '1000');
    await user().click(dialog.getByRole('button', { name: 'Top up' }));
    const message = await dialog.findByText('tokens must be at most 9007199254740991');
    expect(message.closest('.ant-form-item')?.textContent).toContain('Add to the token quota');
    expect(JSON.parse(posted('/top-up')[0]?.body ?? '')).toEqual({ tokens: 1000 });
  });

  it('resets the period only after a confirmation naming the consumer', async () => {
    let current = usageOf();
    server.on(`GET ${path}`, (_req, res) => sendJSON(res, 200, current));
    server.on(`POST ${path}/reset`, (_req, res) => {
      current = usageOf({
        totals: { ...current.totals, usd: 0, tokens: 0, requests: 0 },
        budget: budgetOf({ spentUsd: 0, remainingUsd: 50 }),
        models: [],
      });
      sendJSON(res, 200, current);
    });
    const drawer = await open();
    await drawer.findByText('gpt-4o-mini');
    await user().click(drawer.getByRole('button', { name: /Reset usage/ }));
    expect(
      await screen.findByText(
        'Reset the usage of team-a for this month? Its spending, tokens and top-ups of the period go back to zero.',
      ),
    ).toBeTruthy();
    expect(posted('/reset')).toHaveLength(0);
    await user().click(screen.getByRole('button', { name: 'Reset' }));
    expect(await screen.findByText('Usage of team-a for this month reset.')).toBeTruthy();
    expect(JSON.parse(posted('/reset')[0]?.body ?? '')).toEqual({ period: 'month' });
    await waitFor(() => expect(drawer.getByText('$50.00 left this month')).toBeTruthy());
  });

  it('says when the figures come from the database and may lag', async () => {
    server.on(`GET ${path}`, (_req, res) =>
      sendJSON(
        res,
        200,
        usageOf({ source: 'database', note: 'Redis is down; figures may lag by up to 1m.' }),
      ),
    );
    const drawer = await open();
    expect(await drawer.findByText('Redis is down; figures may lag by up to 1m.')).toBeTruthy();
  });

  it('offers no top-up to a consumer without budget or quota', async () => {
    server.on(`GET ${path}`, (_req, res) =>
      sendJSON(res, 200, usageOf({ budget: null, quota: null })),
    );
    const drawer = await open();
    await drawer.findByText('1,500 tokens this month');
    expect(drawer.getByRole('button', { name: /Top up/ }).hasAttribute('disabled')).toBe(true);
  });

  it('speaks Chinese', async () => {
    localStorage.setItem(languageStorageKey, 'zh-CN');
    server.on(`GET ${path}`, (_req, res) => sendJSON(res, 200, usageOf()));
    renderConsole(<ConsumerUsageDrawer consumer={teamA} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    const drawer = await dialogTitled('team-a 的用量');
    expect(await drawer.findByText('预算：$0.0042 / $50.00')).toBeTruthy();
    expect(drawer.getByText('本月剩余 $49.99')).toBeTruthy();
    expect(drawer.getByRole('button', { name: /充值/ })).toBeTruthy();
  });
});
