import type { ApiErrorDetail, MCPServer, MCPTool, MCPToolArg } from '../../api/types';
import { gatewayURL } from '../../lib/gateway';

/** The two endpoints of an MCP server on the gateway. */
export interface MCPEndpoints {
  /** Streamable HTTP (MCP 2025-03-26 and later). */
  streamable: string;
  /** Legacy HTTP+SSE. */
  sse: string;
}

/**
 * mcpEndpoints builds a server's URLs from the gateway origin. A server
 * bound to domains answers only for those hosts, so the first domain
 * replaces the origin's host (keeping its scheme and port).
 */
export function mcpEndpoints(
  origin: string,
  s: Pick<MCPServer, 'path' | 'ssePath' | 'domains'>,
): MCPEndpoints {
  let base = origin;
  const domain = s.domains?.find((d) => !d.startsWith('*.'));
  if (domain) {
    try {
      const u = new URL(origin);
      u.hostname = domain;
      base = `${u.protocol}//${u.host}`;
    } catch {
      // Keep the origin as it is.
    }
  }
  return { streamable: gatewayURL(base, s.path), sse: gatewayURL(base, s.ssePath) };
}

/** Ready-to-paste client configurations of one MCP server. */
export interface ClientSnippets {
  claudeDesktop: string;
  cursor: string;
  inspector: string;
  inspectorSse: string;
}

/**
 * clientSnippets writes the configuration of Claude Desktop (through the
 * mcp-remote bridge, as it speaks stdio), Cursor (remote URL) and the MCP
 * Inspector CLI. With authentication a placeholder Authorization header is
 * included for the user to fill in.
 */
export function clientSnippets(name: string, ep: MCPEndpoints, auth: boolean): ClientSnippets {
  const header = 'Authorization: Bearer <your key or token>';
  const claudeArgs = ['-y', 'mcp-remote', ep.streamable];
  if (auth) claudeArgs.push('--header', header);
  const claude = { mcpServers: { [name]: { command: 'npx', args: claudeArgs } } };
  const cursorEntry: Record<string, unknown> = { url: ep.streamable };
  if (auth) cursorEntry.headers = { Authorization: 'Bearer <your key or token>' };
  const cursor = { mcpServers: { [name]: cursorEntry } };
  const authArg = auth ? ` --header "${header}"` : '';
  return {
    claudeDesktop: JSON.stringify(claude, null, 2),
    cursor: JSON.stringify(cursor, null, 2),
    inspector: `npx @modelcontextprotocol/inspector --cli ${ep.streamable} --transport http --method tools/list${authArg}`,
    inspectorSse: `npx @modelcontextprotocol/inspector --cli ${ep.sse} --transport sse --method tools/list${authArg}`,
  };
}

/** definitionForEditing drops what the store manages (version) from a definition. */
export function definitionForEditing(s: MCPServer): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...s };
  delete copy.version;
  return copy;
}

/** The arg types of a REST-to-MCP tool. */
export const argTypes = ['string', 'number', 'integer', 'boolean', 'array', 'object'] as const;

/** Where an arg goes in the upstream request; "" lets the templates decide. */
export const argPositions = ['', 'query', 'path', 'header', 'cookie', 'body'] as const;

/** An arg as the tool editor edits it: the default as text. */
export interface ArgFormValues {
  name: string;
  description?: string;
  type?: string;
  required?: boolean;
  position?: string;
  defaultText?: string;
  enum?: string[];
  /** Fields the form does not edit (items, properties, format…), kept as they were. */
  rest?: Record<string, unknown>;
}

/** The values of the tool editor. */
export interface ToolFormValues {
  name: string;
  description?: string;
  args: ArgFormValues[];
  requestTemplate: {
    method?: string;
    url?: string;
    headers: { key: string; value: string }[];
    body?: string;
    argsToJsonBody?: boolean;
    argsToUrlParam?: boolean;
    argsToFormBody?: boolean;
  };
  responseTemplate: { body?: string; prependBody?: string; appendBody?: string };
}

function textOf(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** toolToForm fills the tool editor from a tool of the definition. */
export function toolToForm(tool: MCPTool): ToolFormValues {
  return {
    name: tool.name,
    description: tool.description,
    args: (tool.args ?? []).map((a) => {
      const { name, description, type, required, position, default: def, enum: en, ...rest } = a;
      return {
        name,
        description,
        type: type ?? 'string',
        required: required ?? false,
        position: position ?? '',
        defaultText: textOf(def),
        enum: en?.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
        rest,
      };
    }),
    requestTemplate: {
      method: tool.requestTemplate?.method,
      url: tool.requestTemplate?.url,
      headers: tool.requestTemplate?.headers ?? [],
      body: tool.requestTemplate?.body,
      argsToJsonBody: tool.requestTemplate?.argsToJsonBody ?? false,
      argsToUrlParam: tool.requestTemplate?.argsToUrlParam ?? false,
      argsToFormBody: tool.requestTemplate?.argsToFormBody ?? false,
    },
    responseTemplate: {
      body: tool.responseTemplate?.body,
      prependBody: tool.responseTemplate?.prependBody,
      appendBody: tool.responseTemplate?.appendBody,
    },
  };
}

/** typedValue reads a default or enum value written as text, as the arg's type. */
export function typedValue(text: string, type: string | undefined): unknown {
  switch (type) {
    case 'number':
    case 'integer': {
      const n = Number(text);
      return text.trim() !== '' && !Number.isNaN(n) ? n : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'array':
    case 'object':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    default:
      return text;
  }
}

function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/**
 * formToTool builds the tool from the editor, on top of `original` so that
 * the fields the editor does not show (security, outputSchema,
 * errorResponseTemplate) stay as they were. Empty fields are left out.
 */
export function formToTool(v: ToolFormValues, original?: MCPTool): MCPTool {
  const tool: MCPTool = { ...(original ?? {}), name: v.name.trim() };
  delete tool.description;
  delete tool.args;
  delete tool.requestTemplate;
  delete tool.responseTemplate;
  const description = nonEmpty(v.description);
  if (description !== undefined) tool.description = description;
  if (v.args.length > 0) {
    tool.args = v.args.map((a) => {
      const arg: MCPToolArg = { ...(a.rest ?? {}), name: a.name.trim() };
      const d = nonEmpty(a.description);
      if (d !== undefined) arg.description = d;
      if (a.type && a.type !== 'string') arg.type = a.type;
      else arg.type = 'string';
      if (a.required) arg.required = true;
      if (a.position) arg.position = a.position;
      if (a.defaultText !== undefined && a.defaultText !== '') {
        arg.default = typedValue(a.defaultText, a.type);
      }
      if (a.enum && a.enum.length > 0) arg.enum = a.enum.map((e) => typedValue(e, a.type));
      return arg;
    });
  }
  const rt = v.requestTemplate;
  const headers = rt.headers.filter((h) => h.key.trim() !== '');
  const request = withoutUndefined({
    ...(original?.requestTemplate ?? {}),
    method: nonEmpty(rt.method),
    url: nonEmpty(rt.url),
    body: nonEmpty(rt.body),
    headers:
      headers.length > 0 ? headers.map((h) => ({ key: h.key.trim(), value: h.value })) : undefined,
    argsToJsonBody: rt.argsToJsonBody === true ? true : undefined,
    argsToUrlParam: rt.argsToUrlParam === true ? true : undefined,
    argsToFormBody: rt.argsToFormBody === true ? true : undefined,
  });
  if (Object.keys(request).length > 0) tool.requestTemplate = request;
  const response: NonNullable<MCPTool['responseTemplate']> = {};
  for (const k of ['body', 'prependBody', 'appendBody'] as const) {
    const val = nonEmpty(v.responseTemplate[k]);
    if (val !== undefined) response[k] = val;
  }
  if (Object.keys(response).length > 0) tool.responseTemplate = response;
  return tool;
}

/** withTool returns the definition with the tool at index replaced (or appended at -1). */
export function withTool(s: MCPServer, index: number, tool: MCPTool): MCPServer {
  const tools = [...(s.tools ?? [])];
  if (index < 0) tools.push(tool);
  else tools[index] = tool;
  return { ...s, tools };
}

/** withoutTool returns the definition without the tool at index (and out of allowTools). */
export function withoutTool(s: MCPServer, index: number): MCPServer {
  const removed = s.tools?.[index]?.name;
  const tools = (s.tools ?? []).filter((_, i) => i !== index);
  const next: MCPServer = { ...s, tools };
  if (s.allowTools && removed !== undefined) {
    next.allowTools = s.allowTools.filter((n) => n !== removed);
  }
  return next;
}

const definitionField =
  /(?:^|: )((?:tools|allowTools|server|auth|rateLimit|path|ssePath|domains|type)(?:\[\d+\])?(?:\.[A-Za-z]+(?:\[\d+\])?)*): ([\s\S]*)$/;

/**
 * fieldOfDefinitionDetail recovers the field of a problem the server could
 * only report against the whole "definition", from the path its message
 * starts with ("mcp server "x": tools[0].requestTemplate.url: …"), so that
 * it can be shown under that field. Other details come back unchanged.
 */
export function fieldOfDefinitionDetail(d: ApiErrorDetail): ApiErrorDetail {
  if (d.field !== 'definition' && d.field !== '') return d;
  const m = definitionField.exec(d.message);
  return m?.[1] && m[2] ? { field: m[1], message: m[2] } : d;
}
