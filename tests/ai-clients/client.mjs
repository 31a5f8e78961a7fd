#!/usr/bin/env node
// Real LLM clients for Gatehouse's end-to-end tests: the official `openai`
// and `@anthropic-ai/sdk` packages, driven by one JSON scenario given as the
// only argument. The script prints one JSON object (the result) on stdout
// and exits 0, whether the call succeeded or the API answered an error; it
// exits 2 only when the argument is not JSON.
//
//   node client.mjs '{"sdk":"openai","op":"chat","baseURL":"http://127.0.0.1:8080/v1",
//                     "apiKey":"team-a-key","stream":true,
//                     "request":{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}}'
//
// The argument may also be a JSON array of scenarios: they run one after the
// other in this one process (node starts slowly) and the script prints a JSON
// array of results.
//
// Scenario fields:
//   sdk        "openai" | "anthropic"
//   op         openai: "chat" | "embeddings" | "models" | "responses"; anthropic: "messages" | "models"
//   baseURL    openai: the gateway URL with /v1 (the SDK appends /chat/completions);
//              anthropic: the gateway URL without /v1 (the SDK appends /v1/messages)
//   apiKey     the client's key (openai: Authorization: Bearer; anthropic: x-api-key)
//   stream     true for a streamed chat / messages / responses call
//   request    the request body given to the SDK as it is
//   headers    extra headers on every request (defaultHeaders)
//   abortAfter for streams: abort the request after this many chunks/events
//              arrived (a client that goes away mid-stream)
//   maxRetries the SDK's retries (default 0, so that failures are seen)
//   timeoutMs  the SDK's timeout (default 30000)
//
// Result fields (those that apply): ok, text, toolCalls [{id,name,arguments
// (parsed object)}], finishReason (openai finish_reason / anthropic
// stop_reason), usage (as the SDK returned it), model, id, chunks (events
// seen), eventTypes (anthropic), aborted, headers (response headers of
// non-streamed calls), embeddings {count, dims}, models [ids], raw (the
// final object), error {status, type, message, body}.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

let scenarios;
try {
  scenarios = JSON.parse(process.argv[2] ?? '');
} catch (err) {
  console.error(`usage: node client.mjs '<JSON scenario>' (${err.message}); see the header of client.mjs`);
  process.exit(2);
}

function common(sc) {
  return {
    baseURL: sc.baseURL,
    apiKey: sc.apiKey ?? 'none',
    maxRetries: sc.maxRetries ?? 0,
    timeout: sc.timeoutMs ?? 30000,
    defaultHeaders: sc.headers ?? {},
  };
}

function headersOf(response) {
  const out = {};
  response?.headers?.forEach?.((v, k) => {
    out[k] = v;
  });
  return out;
}

function errorOf(err) {
  return {
    status: err?.status ?? null,
    type: err?.error?.type ?? err?.error?.error?.type ?? err?.type ?? err?.name ?? null,
    message: String(err?.message ?? err),
    body: err?.error ?? null,
    name: err?.constructor?.name ?? null,
  };
}

function parseArgs(s) {
  try {
    return JSON.parse(s);
  } catch {
    return { _unparsed: s };
  }
}

async function openaiChat(sc, client) {
  const req = { ...sc.request, stream: !!sc.stream };
  if (!sc.stream) {
    const { data, response } = await client.chat.completions.create(req).withResponse();
    const choice = data.choices[0];
    return {
      ok: true,
      text: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: parseArgs(c.function.arguments) })),
      finishReason: choice.finish_reason,
      usage: data.usage ?? null,
      model: data.model,
      id: data.id,
      headers: headersOf(response),
      raw: data,
    };
  }
  const controller = new AbortController();
  const stream = await client.chat.completions.create(req, { signal: controller.signal });
  let text = '';
  let finishReason = null;
  let usage = null;
  let model = null;
  let id = null;
  let chunks = 0;
  const calls = [];
  try {
    for await (const chunk of stream) {
      chunks++;
      model = chunk.model ?? model;
      id = chunk.id ?? id;
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices ?? []) {
        if (ch.delta?.content) text += ch.delta.content;
        for (const tc of ch.delta?.tool_calls ?? []) {
          const c = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
          if (tc.id) c.id = tc.id;
          if (tc.function?.name) c.name += tc.function.name;
          if (tc.function?.arguments) c.arguments += tc.function.arguments;
        }
        if (ch.finish_reason) finishReason = ch.finish_reason;
      }
      if (sc.abortAfter && chunks >= sc.abortAfter) {
        controller.abort();
        return { ok: true, aborted: true, chunks, text };
      }
    }
  } catch (err) {
    return { ok: false, error: errorOf(err), chunks, text };
  }
  return {
    ok: true,
    text,
    toolCalls: calls.filter(Boolean).map((c) => ({ id: c.id, name: c.name, arguments: parseArgs(c.arguments) })),
    finishReason,
    usage,
    model,
    id,
    chunks,
  };
}

async function anthropicMessages(sc, client) {
  if (!sc.stream) {
    const { data, response } = await client.messages.create({ ...sc.request, stream: false }).withResponse();
    return {
      ok: true,
      text: data.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
      toolCalls: data.content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, arguments: b.input })),
      finishReason: data.stop_reason,
      usage: data.usage,
      model: data.model,
      id: data.id,
      headers: headersOf(response),
      raw: data,
    };
  }
  // messages.stream accumulates the events into the final message the way
  // applications use it, and fails on events out of order.
  const stream = client.messages.stream(sc.request);
  const eventTypes = [];
  let text = '';
  try {
    for await (const ev of stream) {
      eventTypes.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
      if (sc.abortAfter && eventTypes.length >= sc.abortAfter) {
        stream.abort();
        return { ok: true, aborted: true, chunks: eventTypes.length, eventTypes, text };
      }
    }
    const msg = await stream.finalMessage();
    return {
      ok: true,
      text: msg.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
      toolCalls: msg.content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, arguments: b.input })),
      finishReason: msg.stop_reason,
      usage: msg.usage,
      model: msg.model,
      id: msg.id,
      chunks: eventTypes.length,
      eventTypes,
      streamedText: text,
      raw: msg,
    };
  } catch (err) {
    return { ok: false, error: errorOf(err), chunks: eventTypes.length, eventTypes, text };
  }
}

async function openaiResponses(sc, client) {
  if (!sc.stream) {
    const { data, response } = await client.responses.create({ ...sc.request, stream: false }).withResponse();
    return { ok: true, text: data.output_text, usage: data.usage, model: data.model, id: data.id, headers: headersOf(response), raw: data };
  }
  const stream = await client.responses.create({ ...sc.request, stream: true });
  let text = '';
  let usage = null;
  const eventTypes = [];
  for await (const ev of stream) {
    eventTypes.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed') usage = ev.response.usage;
  }
  return { ok: true, text, usage, eventTypes, chunks: eventTypes.length };
}

async function run(sc) {
  if (sc.sdk === 'openai') {
    const client = new OpenAI(common(sc));
    switch (sc.op) {
      case 'chat':
        return openaiChat(sc, client);
      case 'embeddings': {
        const { data, response } = await client.embeddings.create(sc.request).withResponse();
        return {
          ok: true,
          embeddings: { count: data.data.length, dims: data.data[0]?.embedding?.length ?? 0 },
          usage: data.usage,
          model: data.model,
          headers: headersOf(response),
        };
      }
      case 'models': {
        const ids = [];
        for await (const m of client.models.list()) ids.push(m.id);
        return { ok: true, models: ids };
      }
      case 'responses':
        return openaiResponses(sc, client);
    }
  } else if (sc.sdk === 'anthropic') {
    const client = new Anthropic(common(sc));
    switch (sc.op) {
      case 'messages':
        return anthropicMessages(sc, client);
      case 'models': {
        const ids = [];
        for await (const m of client.models.list()) ids.push(m.id);
        return { ok: true, models: ids };
      }
    }
  }
  throw new Error(`unknown sdk/op ${sc.sdk}/${sc.op}: see the header of client.mjs`);
}

async function runOne(sc) {
  try {
    return await run(sc);
  } catch (err) {
    return { ok: false, error: errorOf(err) };
  }
}

if (Array.isArray(scenarios)) {
  const results = [];
  for (const sc of scenarios) results.push(await runOne(sc));
  emit(results);
} else {
  emit(await runOne(scenarios));
}
