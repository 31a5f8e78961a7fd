// @vitest-environment jsdom
import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Consumer } from '../../api/types';
import { sendJSON, TestApiServer } from '../../test/apiServer';
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

function serveLists(consumers: Consumer[]) {
  server.on('GET /api/v1/consumers', (_req, res) =>
    sendJSON(res, 200, { items: consumers, total: consumers.length }),
  );
  server.on('GET /api/v1/ai-routes', (_req, res) => sendJSON(res, 200, { items: [], total: 0 }));
  server.on('GET /api/v1/ai/usage', (_req, res) =>
    sendJSON(res, 200, {
      window: '24h',
      byModel: [],
      byConsumer: [{ consumer: 'team-a', inputTokens: 1200, outputTokens: 34, requests: 3 }],
      firstTokenMs: { p50: 0, p99: 0 },
      errors: 0,
      fallbacks: 0,
      requests: 3,
    }),
  );
}

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

  it('lists keys with expiry and tokens used, adds a key shown once and revokes one', async () => {
    const list: Consumer[] = [
      {
        name: 'team-a',
        credentials: [{ id: 'k1', hint: 'gh-…aaaa', expiresAt: '2000-01-01T00:00:00Z' }],
        allowedModels: [],
        allowedAiRoutes: [],
        budget: { usd: 25, period: 'month' },
        version: 2,
      },
    ];
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
    expect(await screen.findByText('1,234')).toBeTruthy();
    expect(screen.getByText('$25.00 per month')).toBeTruthy();
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
});
