import { describe, expect, it } from 'vitest';
import type { MCPServer, MCPTool } from '../../api/types';
import { defaultGatewayOrigin, normalizeOrigin } from '../../lib/gateway';
import {
  clientSnippets,
  fieldOfDefinitionDetail,
  formToTool,
  mcpEndpoints,
  toolToForm,
  typedValue,
  withoutTool,
} from './mcp';

const time: MCPServer = {
  name: 'time',
  path: '/mcp-servers/time',
  ssePath: '/mcp-servers/time/sse',
  server: { name: 'time' },
  tools: [{ name: 'get-current-time' }, { name: 'other' }],
  allowTools: ['get-current-time', 'other'],
};

describe('gateway origin', () => {
  it('derives the gateway from the console address and cleans what people type', () => {
    expect(defaultGatewayOrigin({ protocol: 'https:', hostname: 'gh.example.com' })).toBe(
      'https://gh.example.com:8080',
    );
    expect(normalizeOrigin('gw.example.com:9000/')).toBe('http://gw.example.com:9000');
    expect(normalizeOrigin('https://gw.example.com/base/')).toBe('https://gw.example.com/base');
    expect(normalizeOrigin('ftp://x')).toBeUndefined();
    expect(normalizeOrigin('')).toBeUndefined();
  });
});

describe('endpoints and client snippets', () => {
  it('builds both endpoint URLs, on the first exact domain when the server has domains', () => {
    expect(mcpEndpoints('http://127.0.0.1:8080', time)).toEqual({
      streamable: 'http://127.0.0.1:8080/mcp-servers/time',
      sse: 'http://127.0.0.1:8080/mcp-servers/time/sse',
    });
    expect(
      mcpEndpoints('http://127.0.0.1:8080', { ...time, domains: ['*.x.test', 'mcp.x.test'] })
        .streamable,
    ).toBe('http://mcp.x.test:8080/mcp-servers/time');
  });

  it('writes configs Claude Desktop, Cursor and the Inspector accept', () => {
    const ep = mcpEndpoints('http://gw:8080', time);
    const s = clientSnippets('time', ep, false);
    expect(JSON.parse(s.claudeDesktop)).toEqual({
      mcpServers: { time: { command: 'npx', args: ['-y', 'mcp-remote', ep.streamable] } },
    });
    expect(JSON.parse(s.cursor)).toEqual({ mcpServers: { time: { url: ep.streamable } } });
    expect(s.inspector).toBe(
      'npx @modelcontextprotocol/inspector --cli http://gw:8080/mcp-servers/time --transport http --method tools/list',
    );
    const withAuth = clientSnippets('time', ep, true);
    expect(withAuth.inspector).toContain('--header "Authorization: Bearer');
    expect(JSON.parse(withAuth.cursor)).toMatchObject({
      mcpServers: { time: { headers: { Authorization: 'Bearer <your key or token>' } } },
    });
  });
});

describe('tool editor', () => {
  const tool: MCPTool = {
    name: 'get-weather',
    description: 'Weather',
    args: [
      { name: 'city', type: 'string', required: true, position: 'query' },
      { name: 'days', type: 'integer', default: 3, enum: [1, 3, 7], minimum: 1 },
    ],
    requestTemplate: {
      url: 'https://api.test/w',
      method: 'GET',
      headers: [{ key: 'X-Key', value: '{{.config.key}}' }],
      security: { id: 'k' },
    },
    responseTemplate: { body: '{{.temp}}' },
    outputSchema: { type: 'object' },
  };

  it('round-trips a tool, keeping what the editor does not show', () => {
    const back = formToTool(toolToForm(tool), tool);
    expect(back).toEqual(tool);
  });

  it('reads defaults and enum values as the argument type', () => {
    expect(typedValue('3', 'integer')).toBe(3);
    expect(typedValue('true', 'boolean')).toBe(true);
    expect(typedValue('["a"]', 'array')).toEqual(['a']);
    expect(typedValue('abc', 'number')).toBe('abc');
  });

  it('drops emptied templates instead of sending blank fields', () => {
    const v = toolToForm(tool);
    v.requestTemplate = { headers: [] };
    v.responseTemplate = { body: '' };
    const back = formToTool(v, { name: 'x' });
    expect(back.requestTemplate).toBeUndefined();
    expect(back.responseTemplate).toBeUndefined();
  });

  it('removes a deleted tool from allowTools too', () => {
    const next = withoutTool(time, 1);
    expect(next.tools?.map((t) => t.name)).toEqual(['get-current-time']);
    expect(next.allowTools).toEqual(['get-current-time']);
  });
});

describe('definition problems', () => {
  it('recovers the field a definition problem names in its message', () => {
    expect(
      fieldOfDefinitionDetail({
        field: 'definition',
        message:
          'mcp server "time": tools[0].requestTemplate.url: tool "x": template: line 1: unclosed action',
      }),
    ).toEqual({
      field: 'tools[0].requestTemplate.url',
      message: 'tool "x": template: line 1: unclosed action',
    });
    const plain = { field: 'definition', message: 'something else went wrong' };
    expect(fieldOfDefinitionDetail(plain)).toBe(plain);
    const named = { field: 'path', message: 'x: y' };
    expect(fieldOfDefinitionDetail(named)).toBe(named);
  });
});
