// @vitest-environment jsdom
import { cleanup, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestApiServer } from '../../test/apiServer';
import { renderConsole } from '../../test/render';
import { TryItPanel } from './TryItPanel';

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  localStorage.clear();
});
afterEach(cleanup);

const user = () => userEvent.setup({ delay: null });
/** The test server's origin, standing in for the gateway. */
const gateway = () => server.url.replace(/\/api\/v1$/, '');

describe('TryItPanel', () => {
  it('shows the answer as it streams in, then the usage', async () => {
    let finish!: () => void;
    const held = new Promise<void>((r) => (finish = r));
    server.on('POST /llm/v1/chat/completions', async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ model: 'gpt-4o-mini', choices: [{ delta: { content: 'echo: ' } }] })}\n\n`,
      );
      await held;
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: 'hi there' } }] })}\n\n`);
      res.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
    renderConsole(<TryItPanel origin={gateway()} pathPrefix="/llm" defaultModel="gpt-4o" />, {
      baseUrl: server.url,
    });
    await user().type(screen.getByLabelText('Consumer key'), 'team-a-key');
    await user().clear(screen.getByLabelText('Message'));
    await user().type(screen.getByLabelText('Message'), 'hi there');
    await user().click(screen.getByRole('button', { name: /Send/ }));

    // The first piece shows before the rest of the answer exists.
    expect((await screen.findByTestId('try-it-answer')).textContent).toBe('echo: ');
    expect(screen.getByRole('button', { name: /Stop/ })).toBeTruthy();
    finish();
    expect(await screen.findByText('2 tokens in · 3 tokens out')).toBeTruthy();
    expect(screen.getByTestId('try-it-answer').textContent).toBe('echo: hi there');
    expect(screen.getByText(/Answered by gpt-4o-mini/)).toBeTruthy();
    expect(server.received[0]?.headers.authorization).toBe('Bearer team-a-key');
  });

  it('says what to check when the gateway cannot be reached', async () => {
    renderConsole(<TryItPanel origin="http://127.0.0.1:1" pathPrefix="/" defaultModel="gpt-4o" />, {
      baseUrl: server.url,
    });
    await user().click(screen.getByRole('button', { name: /Send/ }));
    expect(
      await screen.findByText(
        'The browser could not reach http://127.0.0.1:1/v1/chat/completions.',
      ),
    ).toBeTruthy();
    expect(screen.getByText(/needs a cors plugin instance/)).toBeTruthy();
  });
});
