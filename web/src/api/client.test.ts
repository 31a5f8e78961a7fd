import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJSON, TestApiServer } from '../test/apiServer';
import { ApiClient, ApiError, clientErrorCodes } from './client';
import type { Health, LogEntry } from './types';

const server = new TestApiServer();

beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => server.reset());

function client(onUnauthorized?: () => void) {
  return new ApiClient({ baseUrl: server.url, onUnauthorized });
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected the call to fail');
}

describe('ApiClient requests', () => {
  it('sends JSON bodies and decodes JSON answers', async () => {
    server.on('POST /api/v1/auth/login', (req, res) =>
      sendJSON(res, 200, {
        token: 'jwt',
        expiresAt: '2030-01-01T00:00:00Z',
        user: { username: (JSON.parse(req.body) as { username: string }).username },
      }),
    );
    const got = await client().login({ username: 'ada', password: 'correct horse' });
    expect(got.user.username).toBe('ada');
    const req = server.received[0];
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.accept).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual({ username: 'ada', password: 'correct horse' });
  });

  it('returns nothing for 204 answers', async () => {
    server.on('PUT /api/v1/users/me/password', (_req, res) => {
      res.writeHead(204).end();
    });
    await expect(
      client().changePassword({ currentPassword: 'old-password', newPassword: 'new-password' }),
    ).resolves.toBeUndefined();
    expect(server.received[0]?.method).toBe('PUT');
  });

  it('escapes plugin names in paths', async () => {
    server.on('PUT /api/v1/plugins/my%20plugin', (req, res) =>
      sendJSON(res, 200, {
        name: 'my plugin',
        imageAddress: (JSON.parse(req.body) as { imageAddress: string }).imageAddress,
        restartRequired: true,
      }),
    );
    const p = await client().updatePlugin('my plugin', { imageAddress: 'file:///x/y.so' });
    expect(p.restartRequired).toBe(true);
    expect(p.imageAddress).toBe('file:///x/y.so');
  });

  it('puts only the given log filters in the query', async () => {
    server.on('GET /api/v1/logs/gateway', (_req, res) =>
      sendJSON(res, 200, { items: [], total: 0 }),
    );
    await client().gatewayLogs({ lines: 200, level: '', q: '' });
    await client().gatewayLogs({ lines: 50, level: 'error', q: 'route=a&b' });
    expect(server.received.map((r) => r.url)).toEqual([
      '/api/v1/logs/gateway?lines=200',
      '/api/v1/logs/gateway?lines=50&level=error&q=route%3Da%26b',
    ]);
  });

  it('returns the health report even when the server answers 503', async () => {
    const report: Health = {
      status: 'down',
      version: '1.0.0',
      uptimeSeconds: 3,
      startedAt: '2030-01-01T00:00:00Z',
      components: [
        { name: 'mcp-server', kind: 'plugin', status: 'down', message: 'sha256 mismatch' },
      ],
    };
    server.on('GET /api/v1/health', (_req, res) => sendJSON(res, 503, report));
    await expect(client().health()).resolves.toEqual(report);
  });

  it('still fails a 503 that is an error rather than a health report', async () => {
    server.on('GET /api/v1/health', (_req, res) =>
      sendJSON(res, 503, { error: { code: 'shutting_down', message: 'Gatehouse is stopping.' } }),
    );
    const err = await failure(client().health());
    expect(err.code).toBe('shutting_down');
    expect(err.status).toBe(503);
  });
});

describe('ApiClient errors', () => {
  it('decodes the error envelope with field details and request id', async () => {
    server.on('PUT /api/v1/plugins/mcp-server', (_req, res) =>
      sendJSON(
        res,
        400,
        {
          error: {
            code: 'plugin_invalid',
            message: 'The image address is not valid.',
            details: [{ field: 'imageAddress', message: 'https addresses need #sha256=' }],
          },
        },
        { 'X-Request-Id': 'req-42' },
      ),
    );
    const err = await failure(
      client().updatePlugin('mcp-server', { imageAddress: 'https://x.test/a.so' }),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe('plugin_invalid');
    expect(err.message).toBe('The image address is not valid.');
    expect(err.details).toEqual([
      { field: 'imageAddress', message: 'https addresses need #sha256=' },
    ]);
    expect(err.requestId).toBe('req-42');
  });

  it('reads Retry-After on throttled logins', async () => {
    server.on('POST /api/v1/auth/login', (_req, res) =>
      sendJSON(
        res,
        429,
        { error: { code: 'too_many_attempts', message: 'Too many attempts.' } },
        { 'Retry-After': '17' },
      ),
    );
    const err = await failure(client().login({ username: 'a', password: 'b' }));
    expect(err.code).toBe('too_many_attempts');
    expect(err.retryAfterSeconds).toBe(17);
  });

  it('reports a lost session on authenticated calls only', async () => {
    const body = { error: { code: 'unauthorized', message: 'Sign in first.' } };
    server.on('GET /api/v1/plugins', (_req, res) => sendJSON(res, 401, body));
    server.on('POST /api/v1/auth/login', (_req, res) =>
      sendJSON(res, 401, { error: { code: 'invalid_credentials', message: 'Wrong.' } }),
    );
    let lost = 0;
    const c = client(() => lost++);

    const loginErr = await failure(c.login({ username: 'a', password: 'wrong-password' }));
    expect(loginErr.code).toBe('invalid_credentials');
    expect(lost).toBe(0);

    const err = await failure(c.plugins());
    expect(err.status).toBe(401);
    expect(lost).toBe(1);
  });

  it('describes an HTTP error without an envelope', async () => {
    server.on('GET /api/v1/plugins', (_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad gateway</html>');
    });
    const err = await failure(client().plugins());
    expect(err.code).toBe('http_502');
    expect(err.status).toBe(502);
    expect(err.message).toContain('HTTP 502');
  });

  it('refuses a 2xx answer that is not JSON', async () => {
    server.on('GET /api/v1/auth/me', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><html></html>');
    });
    const err = await failure(client().me());
    expect(err.code).toBe(clientErrorCodes.badResponse);
  });

  it('turns an unreachable server into network_error', async () => {
    const gone = new TestApiServer();
    await gone.start();
    const url = gone.url;
    await gone.stop();
    const err = await failure(new ApiClient({ baseUrl: url }).authStatus());
    expect(err.code).toBe(clientErrorCodes.network);
    expect(err.status).toBe(0);
  });

  it('passes cancellation through as an abort, not a network error', async () => {
    server.on('GET /api/v1/health', () => {
      // Never answers: the caller aborts.
    });
    const ctrl = new AbortController();
    const p = client().health(ctrl.signal);
    await expect.poll(() => server.received.length).toBe(1);
    ctrl.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('ApiClient log stream', () => {
  it('delivers streamed lines in order, across split chunks', async () => {
    server.on('GET /api/v1/logs/gateway/stream', async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const lines = [1, 2, 3].map((i) =>
        JSON.stringify({ text: `line ${i}`, level: 'INFO', time: `2030-01-01T00:00:0${i}Z` }),
      );
      // One event per write, the last one split in the middle of its JSON
      // and of its CRLF, as TCP may deliver it.
      res.write(`: keep-alive\n\ndata: ${lines[0]}\n\n`);
      res.write(`data: ${lines[1]}\r\n\r\n`);
      const third = `data: ${lines[2]}\r\n\r\n`;
      res.write(third.slice(0, 20));
      await new Promise((r) => setTimeout(r, 20));
      res.write(third.slice(20, third.length - 3));
      await new Promise((r) => setTimeout(r, 20));
      res.end(third.slice(third.length - 3));
    });
    const got: LogEntry[] = [];
    let opened = false;
    await client().followGatewayLogs(
      { level: 'info', q: 'line' },
      { onOpen: () => (opened = true), onEntry: (e) => got.push(e) },
      new AbortController().signal,
    );
    expect(opened).toBe(true);
    expect(got.map((e) => e.text)).toEqual(['line 1', 'line 2', 'line 3']);
    expect(got[0]?.level).toBe('INFO');
    expect(server.received[0]?.url).toBe('/api/v1/logs/gateway/stream?level=info&q=line');
    expect(server.received[0]?.headers.accept).toBe('text/event-stream');
  });

  it('stops quietly when the caller aborts', async () => {
    server.on('GET /api/v1/logs/gateway/stream', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ text: 'first', level: 'INFO', time: '' })}\n\n`);
    });
    const ctrl = new AbortController();
    const got: string[] = [];
    await client().followGatewayLogs(
      {},
      {
        onEntry: (e) => {
          got.push(e.text);
          ctrl.abort();
        },
      },
      ctrl.signal,
    );
    expect(got).toEqual(['first']);
  });

  it('fails with the API error when the stream is refused', async () => {
    server.on('GET /api/v1/logs/gateway/stream', (_req, res) =>
      sendJSON(res, 400, {
        error: {
          code: 'invalid_level',
          message: 'Unknown level.',
          details: [{ field: 'level', message: 'use debug, info, warn or error' }],
        },
      }),
    );
    const err = await failure(
      client().followGatewayLogs({}, { onEntry: () => undefined }, new AbortController().signal),
    );
    expect(err.code).toBe('invalid_level');
    expect(err.details[0]?.field).toBe('level');
  });

  it('reports a lost session when the stream answers 401', async () => {
    server.on('GET /api/v1/logs/gateway/stream', (_req, res) =>
      sendJSON(res, 401, { error: { code: 'unauthorized', message: 'Sign in first.' } }),
    );
    let lost = 0;
    const err = await failure(
      client(() => lost++).followGatewayLogs(
        {},
        { onEntry: () => undefined },
        new AbortController().signal,
      ),
    );
    expect(err.status).toBe(401);
    expect(lost).toBe(1);
  });
});
