// @vitest-environment jsdom
import { cleanup, screen, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { PluginInstanceDrawer } from './PluginInstanceDrawer';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

describe('PluginInstanceDrawer', () => {
  it('offers the AI routes when the instance is attached to an AI route', async () => {
    server.on('GET /api/v1/plugins', (_req, res) => sendJSON(res, 200, { items: [], total: 0 }));
    server.on('GET /api/v1/ai-routes', (_req, res) =>
      sendJSON(res, 200, {
        items: [{ name: 'chat', pathPrefix: '/llm', upstreams: [], version: 1 }],
        total: 1,
      }),
    );
    renderConsole(
      <PluginInstanceDrawer
        preset={{ type: 'ai-route', value: 'chat' }}
        onClose={() => undefined}
      />,
      {
        baseUrl: server.url,
      },
    );
    expect(await screen.findByLabelText('AI route')).toBeTruthy();
    await waitFor(() =>
      expect(server.received.some((r) => r.url.startsWith('/api/v1/ai-routes'))).toBe(true),
    );
    expect(screen.getByText(/after its key check and before ai-proxy/)).toBeTruthy();
  });
});
