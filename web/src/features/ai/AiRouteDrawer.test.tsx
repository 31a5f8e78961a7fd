// @vitest-environment jsdom
import { cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AIRoute } from '../../api/types';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { AiRouteDrawer } from './AiRouteDrawer';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
  server.on('GET /api/v1/llm-providers', (_req, res) =>
    sendJSON(res, 200, {
      items: [{ name: 'openai-1', type: 'openai', tokens: ['********'], version: 1 }],
      total: 1,
    }),
  );
  server.on('GET /api/v1/plugin-instances', (_req, res) =>
    sendJSON(res, 200, { items: [], total: 0 }),
  );
});
afterEach(cleanup);

const user = () => userEvent.setup({ delay: null });

const stored: AIRoute = {
  name: 'chat',
  pathPrefix: '/llm',
  upstreams: [{ provider: 'openai-1', weight: 100, modelMapping: { 'gpt-4o': 'gpt-4o-mini' } }],
  authConfig: { enabled: true, allowedConsumers: ['team-z'] },
  enabled: true,
  version: 2,
};

function formItemOf(el: HTMLElement): HTMLElement {
  const item = el.closest('.ant-form-item');
  if (!(item instanceof HTMLElement)) throw new Error('no form item around the element');
  return item;
}

describe('AiRouteDrawer', () => {
  it("puts the API's field errors under the nested fields they name", async () => {
    server.on('PUT /api/v1/ai-routes/chat', (_req, res) =>
      sendJSON(res, 400, {
        error: {
          code: 'ai_route_invalid',
          message: 'the change was refused and nothing was changed',
          details: [
            {
              field: 'upstreams[0].modelMapping.gpt-4o',
              message: 'model "gpt-4o" is mapped twice',
            },
            {
              field: 'authConfig.allowedConsumers[0]',
              message:
                'consumer "team-z" is not a consumer of any enabled key-auth plugin instance',
            },
          ],
        },
      }),
    );
    renderConsole(<AiRouteDrawer route={stored} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    await user().click(await screen.findByRole('button', { name: 'Save' }));
    // A mapping's key names no row: the message goes under that provider's mapping rows.
    expect(
      await within(await screen.findByTestId('upstream-0')).findByText(
        'model "gpt-4o" is mapped twice',
      ),
    ).toBeTruthy();
    const consumers = formItemOf(screen.getByText('Allowed consumers'));
    expect(
      within(consumers).getByText(/consumer "team-z" is not a consumer of any enabled key-auth/),
    ).toBeTruthy();
    const sent = JSON.parse(server.received.at(-1)?.body ?? '') as AIRoute;
    expect(sent).toEqual(stored);
  });

  it('refuses weights that do not add up to 100 before asking the server', async () => {
    renderConsole(<AiRouteDrawer route={stored} onClose={() => undefined} />, {
      baseUrl: server.url,
    });
    await user().click(await screen.findByRole('button', { name: /Add a provider/ }));
    await user().type(screen.getByLabelText('Weight of provider 2'), '30');
    await user().click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText(/The weights add up to 130/)).toBeTruthy();
    expect(server.received.filter((r) => r.method === 'PUT')).toHaveLength(0);
  });
});
