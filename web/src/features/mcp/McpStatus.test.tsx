// @vitest-environment jsdom
import { cleanup, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MCPServer } from '../../api/types';
import { sendJSON, TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { McpStatusPanel } from './McpStatus';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => server.reset());
afterEach(cleanup);

const weather = { name: 'weather', server: { type: 'rest' } } as unknown as MCPServer;

describe('McpStatusPanel', () => {
  it('shows the active sessions and the last error of a running server', async () => {
    server.on('GET /api/v1/mcp-servers/weather/status', (_req, res) =>
      sendJSON(res, 200, {
        name: 'weather',
        type: 'rest',
        tools: 3,
        sessions: 4,
        lastError: 'upstream api.example.com unreachable',
        lastErrorAt: '2026-01-02T03:04:05Z',
      }),
    );
    renderConsole(<McpStatusPanel server={weather} />, { baseUrl: server.url });
    expect((await screen.findByTestId('mcp-active-sessions')).textContent).toBe('4');
    expect(screen.getByText('upstream api.example.com unreachable')).toBeTruthy();
  });

  it('asks nothing for a disabled server', () => {
    renderConsole(<McpStatusPanel server={{ ...weather, enabled: false }} />, {
      baseUrl: server.url,
    });
    expect(screen.queryByTestId('mcp-active-sessions')).toBeNull();
    expect(server.received).toHaveLength(0);
  });
});
