// @vitest-environment jsdom
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Consumer, ConsumerUsage } from '../../api/types';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { usageList, usageOf } from '../../test/consumerUsage';
import { renderConsole } from '../../test/render';
import ConsumersPage from './ConsumersPage';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

const user = () => userEvent.setup({ delay: null });
const secret = 'gh-0123456789abcdef0123456789abcdef';

function serveLists(consumers: Consumer[], usage: ConsumerUsage[] = []) {
  server.on('GET /api/v1/consumers', (_req, res) =>
    sendJSON(res, 200, { items: consumers, total: consumers.length }),
  );
  server.on('GET /api/v1/ai-routes', (_req, res) => sendJSON(res, 200, { items: [], total: 0 }));
  server.on('GET /api/v1/consumers/usage', (_req, res) => sendJSON(res, 200, usageList(usage)));
}

const teamA: Consumer = {
  name: 'team-a',
  credentials: [{ id: 'k1', hint: 'gh-…aaaa', expiresAt: '2000-01-01T00:00:00Z' }],
  allowedModels: [],
  allowedAiRoutes: [],
  budget: { usd: 25, period: 'month' },
  version: 2,
};

describe('ConsumersPage', () => {
  it('shows a new consumer key once, and never again after "I have copied the key"', async () => {
    const list: Consumer[] = [];
    serveLists(list);
    server.on('POST /api/v1/consumers', (req, res) => {
      const c = JSON.parse(req.body) as Consumer;
      list.push({ ...c, credentials: [{ id: 'k1', hint: 'gh-…cdef' }], version: 1 });
      sendJSON(res, 201, {
        ...c,
        credentials: [{ id: 'k1', key: secret, hint: 'gh-…cdef' }],
        version: 1,
      });
    });
    renderConsole(<ConsumersPage />, { baseUrl: server.url });
    await user().click(await screen.findByRole('button', { name: /New consumer/ }));
    await user().type(screen.getByLabelText('Name'), 'team-b');
    await user().click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('New key of team-b')).toBeTruthy();
    expect(screen.getByText(/You will not see it again/)).toBeTruthy();
    expect(screen.getByTestId('new-consumer-key').textContent).toContain(secret);
    expect(JSON.parse(server.received.find((r) => r.method === 'POST')?.body ?? '')).toMatchObject({
      name: 'team-b',
      credentials: [],
    });
    await user().click(screen.getByRole('button', { name: 'I have copied the key' }));
    await waitFor(() => expect(screen.queryByText('New key of team-b')).toBeNull());
    await screen.findByText('gh-…cdef');
    expect(document.body.textContent).not.toContain(secret);
  });

  it('lists keys with expiry, adds a key shown once and revokes one', async () => {
    const list: Consumer[] = [teamA];
    serveLists(list);
    server.on('POST /api/v1/consumers/team-a/keys', (_req, res) =>
      sendJSON(res, 201, { id: 'k2', key: secret, hint: 'gh-…cdef', consumer: list[0] }),
    );
    server.on('DELETE /api/v1/consumers/team-a/keys/k1', (_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    renderConsole(<ConsumersPage />, { baseUrl: server.url });
    expect(await screen.findByText('expired')).toBeTruthy();
    await user().click(screen.getByRole('button', { name: 'Add a key to team-a' }));
    expect((await screen.findByTestId('new-consumer-key')).textContent).toContain(secret);
    await user().click(screen.getByRole('button', { name: 'I have copied the key' }));
    await user().click(screen.getByRole('button', { name: 'Revoke' }));
    await waitFor(() => expect(screen.getAllByRole('button', { name: 'Revoke' })).toHaveLength(2));
    await user().click(screen.getAllByRole('button', { name: 'Revoke' })[1] as HTMLElement);
    await screen.findByText('Key of team-a revoked.');
    expect(server.received.some((r) => r.method === 'DELETE' && r.url.endsWith('/keys/k1'))).toBe(
      true,
    );
  });

  it('shows spent of budget and used of quota with what is left, in the colour of what is left', async () => {
    const plenty = usageOf();
    const low = usageOf({
      consumer: 'team-b',
      quota: null,
      budget: {
        usd: 50,
        period: 'month',
        spentUsd: 40,
        topUpUsd: 10,
        remainingUsd: 20,
        resetsAt: '2027-01-01T00:00:00Z',
      },
    });
    const out = usageOf({
      consumer: 'team-c',
      budget: null,
      quota: {
        tokens: 1000,
        period: 'day',
        usedTokens: 1200,
        topUpTokens: 0,
        remainingTokens: 0,
        resetsAt: '2026-12-05T00:00:00Z',
      },
    });
    const free = usageOf({ consumer: 'team-d', quota: null, budget: null });
    serveLists(
      ['team-a', 'team-b', 'team-c', 'team-d'].map((name) => ({ ...teamA, name })),
      [plenty, low, out, free],
    );
    renderConsole(<ConsumersPage />, { baseUrl: server.url });
    const row = async (name: string) =>
      within((await screen.findByText(name)).closest('tr') as HTMLElement);

    const a = await row('team-a');
    expect((await a.findByTestId('usage-budget')).dataset.level).toBe('ok');
    expect(a.getByText('Budget: $0.0042 of $50.00')).toBeTruthy();
    expect(a.getByText('$49.99 left this month')).toBeTruthy();
    expect(a.getByText('Tokens: 1,500 of 2,000,000')).toBeTruthy();
    expect(a.getByText('1,998,500 left this month')).toBeTruthy();

    // $40 of $60 (50 + 10 topped up): two thirds, still fine; the top-up is said.
    const b = await row('team-b');
    expect(b.getByTestId('usage-budget').dataset.level).toBe('ok');
    expect(b.getByText('Budget: $40.00 of $60.00')).toBeTruthy();
    expect(b.getByText('incl. $10.00 topped up')).toBeTruthy();
    expect(b.queryByTestId('usage-quota')).toBeNull();

    const c = await row('team-c');
    expect(c.getByTestId('usage-quota').dataset.level).toBe('out');
    expect(c.getByText('0 left today')).toBeTruthy();
    expect(c.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');

    const d = await row('team-d');
    expect(d.getByText('1,500 tokens this month')).toBeTruthy();
    expect(d.getByText('no limit')).toBeTruthy();
  });

  it('still states quota and budget when the usage cannot be read', async () => {
    serveLists([teamA]);
    server.on('GET /api/v1/consumers/usage', (_req, res) =>
      sendJSON(res, 404, { error: { code: 'not_found', message: 'no such route' } }),
    );
    renderConsole(<ConsumersPage />, { baseUrl: server.url });
    expect(await screen.findByText('usage not available')).toBeTruthy();
    expect(screen.getByText('$25.00 per month')).toBeTruthy();
  });

  it('opens the usage of a consumer from its row', async () => {
    serveLists([teamA], [usageOf()]);
    server.on('GET /api/v1/consumers/team-a/usage', (_req, res) => sendJSON(res, 200, usageOf()));
    renderConsole(<ConsumersPage />, { baseUrl: server.url });
    await user().click(await screen.findByRole('button', { name: 'Usage of team-a' }));
    const drawer = within(
      (await screen.findByText('Usage of team-a', { selector: '.ant-drawer-title' })).closest(
        '[role="dialog"]',
      ) as HTMLElement,
    );
    expect(await drawer.findByText('gpt-4o-mini')).toBeTruthy();
    // A monthly budget: the drawer opens on the month.
    expect(
      server.received.some((r) => r.url.endsWith('/consumers/team-a/usage?period=month')),
    ).toBe(true);
  });
});
