// @vitest-environment jsdom
import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { languageStorageKey } from '../../i18n/context';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { LoginPage } from './LoginPage';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
  server.on('GET /api/v1/auth/status', (_req, res) => sendJSON(res, 200, { initialized: true }));
});
afterEach(cleanup);

async function signIn(username: string, password: string) {
  const user = userEvent.setup({ delay: null });
  await user.type(await screen.findByLabelText('Username'), username);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('LoginPage', () => {
  it('says when the credentials are wrong', async () => {
    server.on('POST /api/v1/auth/login', (_req, res) =>
      sendJSON(res, 401, { error: { code: 'invalid_credentials', message: 'invalid' } }),
    );
    let lost = 0;
    renderConsole(<LoginPage />, {
      baseUrl: server.url,
      path: '/login',
      onUnauthorized: () => lost++,
    });
    await signIn('admin', 'not the password');
    expect((await screen.findByRole('alert')).textContent).toContain('Wrong username or password.');
    expect(lost).toBe(0);
  });

  it('counts down a throttled login and keeps the button disabled meanwhile', async () => {
    server.on('POST /api/v1/auth/login', (_req, res) =>
      sendJSON(
        res,
        429,
        { error: { code: 'too_many_attempts', message: 'slow down' } },
        { 'Retry-After': '30' },
      ),
    );
    renderConsole(<LoginPage />, { baseUrl: server.url, path: '/login' });
    await signIn('admin', 'guess number six');
    const alertText = (await screen.findByRole('alert')).textContent;
    expect(alertText).toMatch(/Try again in (30|29) s\./);
    // The name may still carry the fading loading icon's label.
    expect(screen.getByRole('button', { name: /Sign in/ }).hasAttribute('disabled')).toBe(true);
  });

  it('goes back to where the user was after signing in', async () => {
    server.on('POST /api/v1/auth/login', (_req, res) =>
      sendJSON(res, 200, {
        token: 't',
        expiresAt: '2030-01-01T00:00:00Z',
        user: { username: 'admin' },
      }),
    );
    const { router } = renderConsole(<LoginPage />, {
      baseUrl: server.url,
      path: '/login?next=%2Flogs%3Flevel%3Derror',
    });
    await signIn('admin', 'correct horse');
    await screen.findByTestId('navigated');
    expect(router.state.location.pathname + router.state.location.search).toBe('/logs?level=error');
  });

  it('switches to Chinese and remembers it', async () => {
    renderConsole(<LoginPage />, { baseUrl: server.url, path: '/login' });
    const user = userEvent.setup({ delay: null });
    await user.click(await screen.findByText('中文'));
    expect(await screen.findByRole('button', { name: /^登\s?录$/ })).toBeTruthy();
    expect(screen.getByLabelText('用户名')).toBeTruthy();
    expect(localStorage.getItem(languageStorageKey)).toBe('zh-CN');
    await waitFor(() => expect(document.documentElement.lang).toBe('zh-CN'));
  });
});
