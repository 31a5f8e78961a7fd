// @vitest-environment jsdom
import { cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LLMProvider } from '../../api/types';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { ProviderDrawer } from './ProviderDrawer';
import { TestProviderDialog } from './TestProviderDialog';

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

const stored: LLMProvider = {
  name: 'openai-1',
  type: 'openai',
  tokens: ['********', '********'],
  endpoint: 'http://127.0.0.1:9000',
  protocol: 'openai',
  version: 3,
};

function formItemOf(el: HTMLElement): HTMLElement {
  const item = el.closest('.ant-form-item');
  if (!(item instanceof HTMLElement)) throw new Error('no form item around the element');
  return item;
}

describe('ProviderDrawer', () => {
  it('never shows stored tokens and sends their masks back to keep them', async () => {
    server.on('PUT /api/v1/llm-providers/openai-1', (req, res) =>
      sendJSON(res, 200, { ...(JSON.parse(req.body) as LLMProvider), version: 4 }),
    );
    renderConsole(<ProviderDrawer provider={stored} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    expect(screen.getByText('2 stored, hidden')).toBeTruthy();
    expect(screen.queryByLabelText('Token 1')).toBeNull();
    await save();
    await screen.findByText('LLM provider openai-1 saved.');
    expect(JSON.parse(server.received[0]?.body ?? '')).toEqual(stored);
  });

  it('replaces the tokens, and puts the API error under the tokens field', async () => {
    server.on('PUT /api/v1/llm-providers/openai-1', (_req, res) =>
      sendJSON(res, 400, {
        error: {
          code: 'llm_provider_invalid',
          message: 'the change was refused and nothing was changed',
          details: [{ field: 'tokens[1]', message: 'token 2 is empty' }],
        },
      }),
    );
    renderConsole(<ProviderDrawer provider={stored} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    await user().click(screen.getByRole('button', { name: 'Replace tokens' }));
    await user().type(screen.getByLabelText('Token 1'), ' sk-new-1 ');
    await user().click(screen.getByRole('button', { name: /Add a token/ }));
    await user().type(screen.getByLabelText('Token 2'), 'sk-new-2');
    await save();
    const tokensItem = formItemOf(screen.getByLabelText('Token 1'));
    expect(await within(tokensItem).findByText('token 2 is empty')).toBeTruthy();
    expect(JSON.parse(server.received[0]?.body ?? '')).toMatchObject({
      tokens: ['sk-new-1', 'sk-new-2'],
      version: 3,
    });
  });

  it('refuses an empty token row before asking the server', async () => {
    renderConsole(<ProviderDrawer onClose={() => undefined} />, { baseUrl: server.url });
    await user().type(screen.getByLabelText('Name'), 'groq-1');
    await save();
    expect(await screen.findByText('Enter the token, or remove this row.')).toBeTruthy();
    expect(server.received).toHaveLength(0);
  });
});

describe('TestProviderDialog', () => {
  it('explains a refused token in plain words, then lists models of a working one', async () => {
    let calls = 0;
    server.on('POST /api/v1/llm-providers/openai-1/test', (_req, res) => {
      calls++;
      if (calls === 1) {
        sendJSON(res, 200, {
          ok: false,
          diagnosis: 'unauthorized',
          message: 'HTTP 401: invalid api key',
          latencyMs: 4.2,
        });
      } else {
        sendJSON(res, 200, { ok: true, diagnosis: 'ok', message: '', models: ['gpt-4o'] });
      }
    });
    renderConsole(<TestProviderDialog provider={stored} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    expect(await screen.findByText('The provider refused the token (401)')).toBeTruthy();
    expect(screen.getByText(/Replace the tokens with a valid API key/)).toBeTruthy();
    expect(screen.getByText('HTTP 401: invalid api key')).toBeTruthy();

    await user().type(screen.getByLabelText('Model'), 'gpt-4o');
    await user().click(screen.getByRole('button', { name: /Test again/ }));
    expect(await screen.findByText('The provider answers')).toBeTruthy();
    expect(screen.getByText('gpt-4o', { selector: '.ant-tag' })).toBeTruthy();
    expect(JSON.parse(server.received[1]?.body ?? '')).toEqual({ model: 'gpt-4o' });
  });
});
