import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendJSON, TestApiServer } from '../test/apiServer';
import { ApiClient, ApiError } from './client';
import type { Route, Service } from './types';

// The configuration resources, MCP tools, Redis settings and revisions of
// the client, over real HTTP: paths, methods, bodies and content types are
// what the admin API's handlers read.

const server = new TestApiServer();
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => server.reset());

const api = () => new ApiClient({ baseUrl: server.url });

const echo: Service = { name: 'echo', endpoints: [{ url: 'http://10.0.0.5:8080' }], version: 3 };

describe('configuration resources', () => {
  it('lists with the name filter only when one is given', async () => {
    server.on('GET /api/v1/services', (_req, res) =>
      sendJSON(res, 200, { items: [echo], total: 1 }),
    );
    await api().services.list();
    const got = await api().services.list('ec ho&x');
    expect(got.items[0]?.name).toBe('echo');
    expect(server.received.map((r) => r.url)).toEqual([
      '/api/v1/services',
      '/api/v1/services?q=ec+ho%26x',
    ]);
  });

  it('creates with POST and updates with PUT carrying the version read', async () => {
    server.on('POST /api/v1/routes', (req, res) => sendJSON(res, 201, JSON.parse(req.body)));
    server.on('PUT /api/v1/routes/r1', (req, res) => sendJSON(res, 200, JSON.parse(req.body)));
    const route: Route = { name: 'r1', path: { type: 'prefix', value: '/' }, service: 'echo' };
    await api().routes.create(route);
    await api().routes.update('r1', { ...route, version: 7 });
    expect(server.received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /api/v1/routes',
      'PUT /api/v1/routes/r1',
    ]);
    expect(JSON.parse(server.received[1]?.body ?? '')).toMatchObject({ name: 'r1', version: 7 });
  });

  it('deletes with the version so a changed object is not deleted blindly', async () => {
    server.on('DELETE /api/v1/plugin-instances/auth', (_req, res) => {
      res.writeHead(204).end();
    });
    await expect(api().pluginInstances.remove('auth', 4)).resolves.toBeUndefined();
    await api().pluginInstances.remove('auth');
    expect(server.received.map((r) => r.url)).toEqual([
      '/api/v1/plugin-instances/auth?version=4',
      '/api/v1/plugin-instances/auth',
    ]);
  });

  it('reports a stale version as version_conflict', async () => {
    server.on('PUT /api/v1/services/echo', (_req, res) =>
      sendJSON(res, 409, {
        error: {
          code: 'version_conflict',
          message: 'service "echo" is at version 4, not 3',
          details: [{ field: 'version', message: 'stored version is 4' }],
        },
      }),
    );
    const err = await api()
      .services.update('echo', echo)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).code).toBe('version_conflict');
  });
});

describe('MCP servers', () => {
  it('sends a Higress YAML definition as it is', async () => {
    server.on('POST /api/v1/mcp-servers', (_req, res) =>
      sendJSON(res, 201, {
        name: 'time',
        path: '/mcp-servers/time',
        ssePath: '/mcp-servers/time/sse',
        server: { name: 'time' },
      }),
    );
    const yaml = 'server:\n  name: time\ntools: []\n';
    const got = await api().createMCPServerFromYAML(yaml);
    expect(got.path).toBe('/mcp-servers/time');
    expect(server.received[0]?.headers['content-type']).toBe('application/yaml');
    expect(server.received[0]?.body).toBe(yaml);
  });

  it('imports OpenAPI with the name and base URL in the query, JSON or YAML by content', async () => {
    server.on('POST /api/v1/mcp-servers/import/openapi', (_req, res) =>
      sendJSON(res, 200, {
        name: 'pets',
        path: '/mcp-servers/pets',
        ssePath: '/mcp-servers/pets/sse',
        server: { name: 'pets' },
        tools: [],
      }),
    );
    await api().importOpenAPI('pets', 'https://api.example.com', '{"openapi":"3.0.0"}');
    await api().importOpenAPI('pets', '', 'openapi: 3.1.0\n');
    const [a, b] = server.received;
    expect(a?.url).toBe(
      '/api/v1/mcp-servers/import/openapi?name=pets&baseURL=https%3A%2F%2Fapi.example.com',
    );
    expect(a?.headers['content-type']).toBe('application/json');
    expect(b?.url).toBe('/api/v1/mcp-servers/import/openapi?name=pets');
    expect(b?.headers['content-type']).toBe('application/yaml');
  });

  it('renders and calls a tool with its arguments, names escaped', async () => {
    server.on('POST /api/v1/mcp-servers/my%20srv/tools/get%2Ftime/render', (_req, res) =>
      sendJSON(res, 200, { method: 'GET', url: 'https://x.test/t', headers: {}, body: '' }),
    );
    server.on('POST /api/v1/mcp-servers/my%20srv/tools/get%2Ftime/call', (_req, res) =>
      sendJSON(res, 200, { content: [{ type: 'text', text: 'Monday' }], isError: false }),
    );
    const rendered = await api().renderTool('my srv', 'get/time', { timeZone: 'UTC' });
    const result = await api().callTool('my srv', 'get/time', { timeZone: 'UTC' });
    expect(rendered.url).toBe('https://x.test/t');
    expect(result.content[0]?.text).toBe('Monday');
    for (const r of server.received) {
      expect(JSON.parse(r.body)).toEqual({ arguments: { timeZone: 'UTC' } });
    }
  });
});

describe('Redis settings and revisions', () => {
  it('tests settings without storing them and passes the diagnosis through', async () => {
    server.on('POST /api/v1/settings/redis/test', (_req, res) =>
      sendJSON(res, 200, {
        ok: false,
        code: 'auth_failed',
        message: 'WRONGPASS',
        hint: 'check the password',
        latencyMs: 0,
      }),
    );
    const d = await api().testRedisSettings({
      mode: 'standalone',
      addresses: ['127.0.0.1:6390'],
      masterName: '',
      username: '',
      password: 'nope',
      db: 0,
      tls: { enabled: false, insecureSkipVerify: false, serverName: '', caCertPEM: '' },
      poolSize: 0,
      minIdleConns: 0,
      dialTimeout: '5s',
      readTimeout: '3s',
      writeTimeout: '3s',
    });
    expect(d.code).toBe('auth_failed');
    expect(JSON.parse(server.received[0]?.body ?? '')).toMatchObject({ password: 'nope' });
  });

  it('pages revisions and rolls one back', async () => {
    server.on('GET /api/v1/revisions', (_req, res) => sendJSON(res, 200, { items: [], total: 0 }));
    server.on('POST /api/v1/revisions/12/rollback', (_req, res) =>
      sendJSON(res, 200, { rolledBack: 12, kind: 'route', name: 'r1', revision: 13 }),
    );
    await api().revisions({ limit: 25, offset: 50 });
    const r = await api().rollback(12);
    expect(r.revision).toBe(13);
    expect(server.received[0]?.url).toBe('/api/v1/revisions?limit=25&offset=50');
  });
});
