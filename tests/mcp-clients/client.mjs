#!/usr/bin/env node
// A real MCP client for Gatehouse's end-to-end tests: the official
// TypeScript SDK over Streamable HTTP or legacy HTTP+SSE.
//
// One-shot mode (default): connect, list the tools, optionally call one,
// print one JSON object and exit.
//
//   node client.mjs --url http://127.0.0.1:8080/mcp-servers/x --transport http \
//     [--call get_weather --args '{"city":"Lima"}'] [--sampling]
//
// Interactive mode (--interactive): connect, then read one JSON command per
// line on stdin and answer each with one JSON line on stdout carrying the
// command's "id". Notifications and sampling requests the server sends are
// printed as {"event": …} lines as they arrive. Commands:
//
//   {"id":1,"op":"list"}                                   → {"tools":[…]}
//   {"id":2,"op":"call","name":"t","args":{…},"progress":true} → {"result":{…}}
//   {"id":3,"op":"burst","n":1000,"name":"t","args":{"city":"c{i}"}}
//        n concurrent calls ({i} in string arguments becomes the call's index)
//        → {"succeeded":n,"failedCount":0,"failed":[…],"texts":[…]}
//   {"id":4,"op":"ping"}                                   → {}
//   {"id":5,"op":"session"}                                → {"sessionId","protocolVersion"}
//   {"id":6,"op":"stats"}   → {"responses","distinct","duplicates":[…],"errors":[…]}
//
// The client answers sampling/createMessage (with --sampling) with
// "sampled(<the request's first text>)". Every JSON-RPC response that
// reaches the transport is counted by id, so duplicates show in "stats".
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    transport: { type: 'string', default: 'http' },
    call: { type: 'string' },
    args: { type: 'string', default: '{}' },
    sampling: { type: 'boolean', default: false },
    interactive: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '60000' },
  },
});
if (!opts.url) {
  console.error('usage: node client.mjs --url <MCP endpoint> [--transport http|sse] [--call tool --args JSON] [--sampling] [--interactive]');
  process.exit(2);
}
const timeout = Number(opts.timeout);

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const errors = [];
const responses = new Map(); // JSON-RPC id → how many responses arrived

const client = new Client(
  { name: 'gatehouse-e2e-ts-client', version: '1.0.0' },
  { capabilities: opts.sampling ? { sampling: {} } : {} },
);
client.onerror = (err) => {
  errors.push(String(err?.message ?? err));
  emit({ event: 'error', message: String(err?.message ?? err) });
};
if (opts.sampling) {
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const first = req.params.messages[0]?.content;
    const text = first && first.type === 'text' ? first.text : '';
    emit({ event: 'sampling', text, maxTokens: req.params.maxTokens });
    return { role: 'assistant', model: 'gatehouse-e2e-model', content: { type: 'text', text: `sampled(${text})` } };
  });
}

const url = new URL(opts.url);
let transport;
if (opts.transport === 'sse') {
  transport = new SSEClientTransport(url);
} else if (opts.transport === 'http') {
  transport = new StreamableHTTPClientTransport(url, {
    // Resume quickly when a stream breaks (an instance dies).
    reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1.5, maxRetries: 30 },
  });
} else {
  console.error(`unknown --transport ${opts.transport}: use http or sse`);
  process.exit(2);
}

try {
  await client.connect(transport, { timeout });
} catch (err) {
  emit({ ok: false, phase: 'connect', error: String(err?.message ?? err) });
  process.exit(1);
}
// Count every response the transport delivers, before the SDK matches it
// to a request (the SDK only reports an unknown id as an error).
const deliver = transport.onmessage;
transport.onmessage = (msg, extra) => {
  if (msg && msg.id !== undefined && ('result' in msg || 'error' in msg)) {
    responses.set(msg.id, (responses.get(msg.id) ?? 0) + 1);
  }
  deliver?.call(transport, msg, extra);
};

function textOf(result) {
  return (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
}

function fill(value, i) {
  if (typeof value === 'string') return value.replaceAll('{i}', String(i));
  if (Array.isArray(value)) return value.map((v) => fill(v, i));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, i)]));
  return value;
}

async function run(cmd) {
  switch (cmd.op) {
    case 'list':
      return { tools: (await client.listTools(undefined, { timeout })).tools };
    case 'call': {
      const options = { timeout };
      if (cmd.progress) {
        options.onprogress = (p) => emit({ event: 'progress', id: cmd.id, progress: p.progress, total: p.total, message: p.message });
        options.resetTimeoutOnProgress = true;
      }
      const result = await client.callTool({ name: cmd.name, arguments: cmd.args ?? {} }, undefined, options);
      return { result, text: textOf(result) };
    }
    case 'burst': {
      const started = Date.now();
      const settled = await Promise.allSettled(
        Array.from({ length: cmd.n }, (_, i) => client.callTool({ name: cmd.name, arguments: fill(cmd.args ?? {}, i) }, undefined, { timeout })),
      );
      const texts = [];
      const failed = [];
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled' && !s.value.isError) texts.push(textOf(s.value));
        else failed.push({ i, error: s.status === 'fulfilled' ? textOf(s.value) : String(s.reason?.message ?? s.reason) });
      });
      return { succeeded: texts.length, failedCount: failed.length, failed: failed.slice(0, 20), texts, ms: Date.now() - started };
    }
    case 'ping':
      await client.ping({ timeout });
      return {};
    case 'session':
      // The SSE transport keeps the session in its endpoint URL.
      return {
        sessionId: transport.sessionId ?? transport._endpoint?.searchParams.get('sessionId') ?? null,
        protocolVersion: transport.protocolVersion ?? transport._protocolVersion ?? null,
        endpoint: transport._endpoint?.href ?? null,
        server: client.getServerVersion(),
      };
    case 'stats': {
      const duplicates = [...responses.entries()].filter(([, n]) => n > 1).map(([id, n]) => ({ id, n }));
      let total = 0;
      for (const n of responses.values()) total += n;
      return { responses: total, distinct: responses.size, duplicates, errors };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  }
}

if (!opts.interactive) {
  let code = 0;
  const out = { transport: opts.transport };
  try {
    Object.assign(out, await run({ op: 'session' }));
    out.tools = (await run({ op: 'list' })).tools;
    if (opts.call) {
      out.call = await run({ op: 'call', name: opts.call, args: JSON.parse(opts.args) });
    }
    out.ok = true;
  } catch (err) {
    out.ok = false;
    out.error = String(err?.message ?? err);
    code = 1;
  }
  emit(out);
  await client.close();
  process.exit(code);
}

const pending = new Set();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    emit({ ok: false, error: `bad command line: ${err.message}` });
    return;
  }
  // Commands run concurrently; each answer carries its command's id.
  const p = run(cmd).then(
    (res) => emit({ id: cmd.id, ok: true, ...res }),
    (err) => emit({ id: cmd.id, ok: false, error: String(err?.message ?? err) }),
  );
  pending.add(p);
  p.finally(() => pending.delete(p));
});
lines.on('close', async () => {
  await Promise.allSettled([...pending]);
  await client.close();
  process.exit(0);
});
