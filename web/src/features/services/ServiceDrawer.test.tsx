// @vitest-environment jsdom
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Service } from '../../api/types';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { ServiceDrawer } from './ServiceDrawer';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

const user = () => userEvent.setup({ delay: null });
const save = () => user().click(screen.getByRole('button', { name: 'Save' }));

function fieldOf(label: string): HTMLElement {
  const item = screen.getByLabelText(label).closest('.ant-form-item');
  if (!(item instanceof HTMLElement)) throw new Error(`no form item around ${label}`);
  return item;
}

describe('ServiceDrawer', () => {
  it('explains bad input in place without asking the server', async () => {
    renderConsole(<ServiceDrawer onClose={() => undefined} />, { baseUrl: server.url });
    await user().type(screen.getByLabelText('Name'), 'Echo');
    await user().type(screen.getByLabelText('URL of endpoint 1'), 'http://user:pw@10.0.0.5');
    await user().clear(screen.getByLabelText('Timeout'));
    await user().type(screen.getByLabelText('Timeout'), '30');
    await save();
    expect(await within(fieldOf('Name')).findByText(/Use lowercase letters/)).toBeTruthy();
    expect(
      await within(fieldOf('URL of endpoint 1')).findByText(/Remove the user and password/),
    ).toBeTruthy();
    expect(await within(fieldOf('Timeout')).findByText(/Write a duration like 30s/)).toBeTruthy();
    expect(server.received).toHaveLength(0);
  });

  it("puts the API's field errors under the nested fields they name", async () => {
    server.on('POST /api/v1/services', (_req, res) =>
      sendJSON(res, 400, {
        error: {
          code: 'service_invalid',
          message: 'the change was refused and nothing was changed',
          details: [
            { field: 'endpoints[1].url', message: '"http://b.test" is already endpoints[0]' },
            { field: 'retries', message: 'retries 11 is out of range' },
          ],
        },
      }),
    );
    renderConsole(<ServiceDrawer onClose={() => undefined} />, { baseUrl: server.url });
    await user().type(screen.getByLabelText('Name'), 'echo');
    await user().type(screen.getByLabelText('URL of endpoint 1'), 'http://a.test');
    await user().click(screen.getByRole('button', { name: /Add endpoint/ }));
    await user().type(screen.getByLabelText('URL of endpoint 2'), 'http://b.test');
    await save();
    expect(
      await within(fieldOf('URL of endpoint 2')).findByText(
        '"http://b.test" is already endpoints[0]',
      ),
    ).toBeTruthy();
    expect(within(fieldOf('Retries')).getByText('retries 11 is out of range')).toBeTruthy();
    const sent = JSON.parse(server.received[0]?.body ?? '') as Service;
    expect(sent).toEqual({
      name: 'echo',
      endpoints: [{ url: 'http://a.test' }, { url: 'http://b.test' }],
      loadBalancer: 'round-robin',
      timeout: '30s',
      retries: 0,
    });
  });

  it('explains a version conflict and reloads the stored service', async () => {
    const stored: Service = {
      name: 'echo',
      endpoints: [{ url: 'http://a.test', weight: 1 }],
      timeout: '30s',
      version: 2,
    };
    server.on('PUT /api/v1/services/echo', (_req, res) =>
      sendJSON(res, 409, {
        error: {
          code: 'version_conflict',
          message: 'stale',
          details: [{ field: 'version', message: 'stored version is 3' }],
        },
      }),
    );
    server.on('GET /api/v1/services/echo', (_req, res) =>
      sendJSON(res, 200, { ...stored, timeout: '45s', version: 3 }),
    );
    renderConsole(<ServiceDrawer service={stored} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    await save();
    expect(await screen.findByText('Changed by someone else — reload')).toBeTruthy();
    expect(JSON.parse(server.received[0]?.body ?? '')).toMatchObject({ version: 2 });
    await user().click(screen.getByRole('button', { name: 'Reload' }));
    await waitFor(() =>
      expect(screen.getByLabelText<HTMLInputElement>('Timeout').value).toBe('45s'),
    );
    // The form and the alert update in separate renders: on a busy machine
    // the field can show the reloaded value a moment before the alert goes.
    await waitFor(() => expect(screen.queryByText('Changed by someone else — reload')).toBeNull());

    // Saving again sends the version that Reload read.
    server.on('PUT /api/v1/services/echo', (_req, res) =>
      sendJSON(res, 200, { ...stored, timeout: '45s', version: 4 }),
    );
    // (the first Save's spinner may still be fading out of the button's name)
    await user().click(screen.getByRole('button', { name: /Save$/ }));
    await waitFor(() => {
      const puts = server.received.filter((r) => r.method === 'PUT');
      expect(puts).toHaveLength(2);
      expect(JSON.parse(puts[1]?.body ?? '')).toMatchObject({ version: 3, timeout: '45s' });
    });
  });
});
