// @vitest-environment jsdom
import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { TokensCard } from './TokensCard';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

const secret = 'ght_s3cretValueThatIsShownOnce';
const listed = {
  id: 7,
  name: 'ci-deploy',
  user: 'admin',
  scope: 'read',
  prefix: 'ght_s3cr',
  createdAt: '2026-01-02T03:04:05Z',
  expiresAt: null,
  lastUsedAt: null,
};

async function createToken(user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByRole('button', { name: /Create token/ }));
  await user.type(await screen.findByLabelText('Name'), 'ci-deploy');
  await user.click(screen.getByRole('button', { name: 'Create' }));
}

describe('TokensCard', () => {
  it('shows a new token once, with a warning, and never after closing', async () => {
    let tokens: unknown[] = [];
    server.on('GET /api/v1/tokens', (_req, res) =>
      sendJSON(res, 200, { items: tokens, total: tokens.length }),
    );
    server.on('POST /api/v1/tokens', (_req, res) => {
      tokens = [listed];
      sendJSON(res, 201, { ...listed, token: secret });
    });
    const user = userEvent.setup({ delay: null });
    renderConsole(<TokensCard />, { baseUrl: server.url });
    await createToken(user);

    expect(await screen.findByText(secret)).toBeTruthy();
    expect(screen.getByText(/it will not be shown again/)).toBeTruthy();
    const post = server.received.find((r) => r.method === 'POST');
    expect(JSON.parse(post?.body ?? '')).toEqual({
      name: 'ci-deploy',
      scope: 'read',
      expiresIn: '720h',
    });

    await user.click(screen.getByRole('button', { name: 'I have copied it' }));
    await waitFor(() => expect(screen.queryByText(secret)).toBeNull());
    // The list shows the token by its prefix only.
    expect(await screen.findByText('ci-deploy')).toBeTruthy();
    expect(screen.getByText('ght_s3cr…')).toBeTruthy();

    // Opening the dialog again starts a new token: the old secret is gone.
    await user.click(screen.getByRole('button', { name: /Create token/ }));
    expect(await screen.findByLabelText('Name')).toBeTruthy();
    expect(screen.queryByText(secret)).toBeNull();
  });

  it('explains that a token session cannot create tokens', async () => {
    server.on('GET /api/v1/tokens', (_req, res) => sendJSON(res, 200, { items: [], total: 0 }));
    server.on('POST /api/v1/tokens', (_req, res) =>
      sendJSON(res, 403, {
        error: {
          code: 'session_required',
          message: 'API tokens cannot do this; log in with a username and password',
        },
      }),
    );
    const user = userEvent.setup({ delay: null });
    renderConsole(<TokensCard />, { baseUrl: server.url });
    await createToken(user);
    expect(
      await screen.findByText(
        'API tokens cannot create tokens. Sign in with your username and password to create one.',
      ),
    ).toBeTruthy();
    expect(screen.queryByTestId('new-token')).toBeNull();
  });
  it('revokes every token at once after a confirmation', async () => {
    let tokens: unknown[] = [listed];
    server.on('GET /api/v1/tokens', (_req, res) =>
      sendJSON(res, 200, { items: tokens, total: tokens.length }),
    );
    server.on('DELETE /api/v1/tokens', (_req, res) => {
      tokens = [];
      sendJSON(res, 200, { revoked: 1 });
    });
    const user = userEvent.setup({ delay: null });
    renderConsole(<TokensCard />, { baseUrl: server.url });
    expect(await screen.findByText('ci-deploy')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Revoke all API tokens' }));
    expect(await screen.findByText(/Revoke every API token/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    expect(await screen.findByText('All API tokens revoked.')).toBeTruthy();
    await waitFor(() => expect(screen.queryByText('ci-deploy')).toBeNull());
    expect(server.received.some((r) => r.method === 'DELETE' && r.url === '/api/v1/tokens')).toBe(
      true,
    );
  });
});
