import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJSON, TestApiServer } from '../test/apiServer';
import { ChatError, chatCompletionsURL, streamChat, type ChatUsage } from './chat';
import { ApiClient } from './client';
import type { AIUsage, LLMProvider } from './types';

const server = new TestApiServer();

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => server.reset());

const api = () => new ApiClient({ baseUrl: server.url });
/** The test server's origin, standing in for the gateway. */
const origin = () => server.url.replace(/\/api\/v1$/, '');

describe('AI admin API', () => {
  it('creates a provider and reads it back with its tokens masked', async () => {
    const stored: LLMProvider = {
      name: 'openai-1',
      type: 'openai',
      tokens: ['********', '********'],
      endpoint: 'http://127.0.0.1:9000',
      version: 1,
    };
    server.on('POST /api/v1/llm-providers', (_req, res) => sendJSON(res, 201, stored));
    const got = await api().llmProviders.create({
      name: 'openai-1',
      type: 'openai',
      tokens: ['sk-one', 'sk-two'],
      endpoint: 'http://127.0.0.1:9000',
    });
    expect(got.tokens).toEqual(['********', '********']);
    expect(server.received[0]?.url).toBe('/api/v1/llm-providers');
    expect(JSON.parse(server.received[0]?.body ?? '')).toMatchObject({
      tokens: ['sk-one', 'sk-two'],
    });
  });

  it('tests a provider with or without a model', async () => {
    server.on('POST /api/v1/llm-providers/my%20llm/test', (_req, res) =>
      sendJSON(res, 200, {
        ok: false,
        diagnosis: 'unauthorized',
        message: 'HTTP 401 from http://127.0.0.1:9000/v1/models',
        latencyMs: 3,
      }),
    );
    const r = await api().testLLMProvider('my llm');
    expect(r.diagnosis).toBe('unauthorized');
    await api().testLLMProvider('my llm', 'gpt-4o');
    expect(server.received.map((x) => JSON.parse(x.body) as unknown)).toEqual([
      {},
      { model: 'gpt-4o' },
    ]);
  });

  it('asks for the usage of the chosen window', async () => {
    const usage: AIUsage = {
      window: '24h',
      byModel: [{ model: 'gpt-4o', inputTokens: 5, outputTokens: 7, requests: 2, errors: 0 }],
      byConsumer: [],
      firstTokenMs: { p50: 12, p99: 40 },
      errors: 0,
      fallbacks: 1,
      requests: 2,
    };
    server.on('GET /api/v1/ai/usage', (_req, res) => sendJSON(res, 200, usage));
    await expect(api().aiUsage('24h')).resolves.toEqual(usage);
    expect(server.received[0]?.url).toBe('/api/v1/ai/usage?window=24h');
  });
});

/** streamChunks answers with the given SSE text in separate writes, so events split across reads. */
function streamChunks(res: ServerResponse, parts: string[]): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  let i = 0;
  const next = () => {
    if (i === parts.length) {
      res.end();
      return;
    }
    res.write(parts[i++]);
    setImmediate(next);
  };
  next();
}

function chunk(v: unknown): string {
  return `data: ${JSON.stringify(v)}\n\n`;
}

async function chat(path: string, key = '') {
  const deltas: string[] = [];
  const usage: ChatUsage[] = [];
  const models: string[] = [];
  await streamChat(
    {
      url: chatCompletionsURL(origin(), path),
      model: 'gpt-4o',
      prompt: 'hello there',
      key,
    },
    {
      onDelta: (d) => deltas.push(d),
      onUsage: (u) => usage.push(u),
      onModel: (m) => models.push(m),
    },
    new AbortController().signal,
  );
  return { deltas, usage, models };
}

describe('streamChat through the gateway', () => {
  it('streams the text as it comes and the usage at the end', async () => {
    server.on('POST /llm/v1/chat/completions', (_req, res) => {
      const full =
        chunk({ model: 'gpt-4o-mini', choices: [{ delta: { role: 'assistant' } }] }) +
        chunk({ choices: [{ delta: { content: 'echo: ' } }] }) +
        chunk({ choices: [{ delta: { content: 'hello there' } }] }) +
        chunk({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } }) +
        'data: [DONE]\n\n';
      // Cut mid-event and mid-line, as the network may.
      streamChunks(res, [full.slice(0, 30), full.slice(30, 95), full.slice(95)]);
    });
    const got = await chat('/llm/', 'consumer-key-1');
    expect(got.deltas.join('')).toBe('echo: hello there');
    expect(got.usage).toEqual([{ promptTokens: 2, completionTokens: 3, totalTokens: 5 }]);
    expect(got.models).toEqual(['gpt-4o-mini']);
    const req = server.received[0];
    expect(req?.headers.authorization).toBe('Bearer consumer-key-1');
    expect(JSON.parse(req?.body ?? '')).toEqual({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends no Authorization header without a key', async () => {
    server.on('POST /v1/chat/completions', (_req, res) => streamChunks(res, ['data: [DONE]\n\n']));
    await chat('/');
    expect(server.received[0]?.url).toBe('/v1/chat/completions');
    expect(server.received[0]?.headers.authorization).toBeUndefined();
  });

  it("reports the gateway's refusal with its status and message", async () => {
    server.on('POST /llm/v1/chat/completions', (_req, res) =>
      sendJSON(res, 403, {
        error: { message: 'consumer "team-b" may not call AI route "chat"', type: 'forbidden' },
      }),
    );
    const err = await chat('/llm').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ChatError);
    expect((err as ChatError).status).toBe(403);
    expect((err as ChatError).message).toBe('consumer "team-b" may not call AI route "chat"');
  });

  it('fails on an error event in the middle of the stream, keeping what came before', async () => {
    server.on('POST /v1/chat/completions', (_req, res) =>
      streamChunks(res, [
        chunk({ choices: [{ delta: { content: 'partial' } }] }),
        `event: error\ndata: ${JSON.stringify({ error: { message: 'upstream stream was cut' } })}\n\n`,
      ]),
    );
    const deltas: string[] = [];
    const err = await streamChat(
      { url: chatCompletionsURL(origin(), '/'), model: 'm', prompt: 'p', key: '' },
      { onDelta: (d) => deltas.push(d), onUsage: () => undefined },
      new AbortController().signal,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(deltas).toEqual(['partial']);
    expect((err as ChatError).message).toBe('upstream stream was cut');
  });

  it('says the gateway is unreachable when nothing listens', async () => {
    const err = await streamChat(
      { url: 'http://127.0.0.1:1/v1/chat/completions', model: 'm', prompt: 'p', key: '' },
      { onDelta: () => undefined, onUsage: () => undefined },
      new AbortController().signal,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ChatError);
    expect((err as ChatError).unreachable).toBe(true);
  });

  it('ends quietly when stopped, and the server sees the client go', async () => {
    let closed!: () => void;
    const clientGone = new Promise<void>((r) => (closed = r));
    server.on('POST /v1/chat/completions', (_req, res) => {
      res.on('close', () => closed());
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(chunk({ choices: [{ delta: { content: 'first' } }] }));
    });
    const ctl = new AbortController();
    const deltas: string[] = [];
    const done = streamChat(
      { url: chatCompletionsURL(origin(), '/'), model: 'm', prompt: 'p', key: '' },
      {
        onDelta: (d) => {
          deltas.push(d);
          ctl.abort();
        },
        onUsage: () => undefined,
      },
      ctl.signal,
    );
    await expect(done).resolves.toBeUndefined();
    await clientGone;
    expect(deltas).toEqual(['first']);
  });
});
