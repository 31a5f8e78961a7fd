// @vitest-environment jsdom
import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { ChangePasswordForm } from './ChangePasswordForm';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

async function fill(current: string, next: string, repeat: string) {
  const user = userEvent.setup({ delay: null });
  await user.type(screen.getByLabelText('Current password'), current);
  await user.type(screen.getByLabelText('New password'), next);
  await user.type(screen.getByLabelText('Repeat the new password'), repeat);
  await user.click(screen.getByRole('button', { name: 'Change password' }));
}

describe('ChangePasswordForm', () => {
  it('explains bad input in place without asking the server', async () => {
    renderConsole(<ChangePasswordForm />, { baseUrl: server.url });
    await fill('old password', 'short', 'shorter');
    expect(await screen.findByText('Use at least 8 characters.')).toBeTruthy();
    expect(await screen.findByText('The two passwords differ.')).toBeTruthy();
    expect(server.received).toHaveLength(0);
  });

  it("shows the API's field errors under the fields they concern", async () => {
    server.on('PUT /api/v1/users/me/password', (_req, res) =>
      sendJSON(res, 400, {
        error: {
          code: 'invalid_password',
          message: 'The current password is wrong.',
          details: [{ field: 'currentPassword', message: 'does not match' }],
        },
      }),
    );
    renderConsole(<ChangePasswordForm />, { baseUrl: server.url });
    await fill('wrong password', 'new password 1', 'new password 1');

    const detail = await screen.findByText('does not match');
    const item = detail.closest('.ant-form-item');
    expect(item?.querySelector('input')?.id).toBe('currentPassword');
    // Every detail found its field, so no separate alert repeats it.
    expect(screen.queryByRole('alert')).toBeNull();
    expect(JSON.parse(server.received[0]?.body ?? '')).toEqual({
      currentPassword: 'wrong password',
      newPassword: 'new password 1',
    });
  });

  it('confirms the change and clears the form', async () => {
    server.on('PUT /api/v1/users/me/password', (_req, res) => {
      res.writeHead(204).end();
    });
    renderConsole(<ChangePasswordForm />, { baseUrl: server.url });
    await fill('old password', 'new password 1', 'new password 1');
    expect(await screen.findByText('Password changed.')).toBeTruthy();
    await waitFor(() =>
      expect(screen.getByLabelText<HTMLInputElement>('Current password').value).toBe(''),
    );
  });
});
