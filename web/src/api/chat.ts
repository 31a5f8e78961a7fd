import { SSEParser } from './sse';

/** Token counts an OpenAI-compatible answer reports at its end. */
export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** What to send to an AI route's /v1/chat/completions. */
export interface ChatRequest {
  /** The full URL: gateway origin + the route's path prefix + /v1/chat/completions. */
  url: string;
  model: string;
  prompt: string;
  /** The consumer key, sent as `Authorization: Bearer …`; "" sends none. */
  key: string;
}

/** Handlers called while the answer streams in. */
export interface ChatHandlers {
  /** Each piece of text as it arrives. */
  onDelta: (text: string) => void;
  /** The usage, when the gateway reports it (the last chunk). */
  onUsage: (usage: ChatUsage) => void;
  /** The model that answered, from the first chunk naming it. */
  onModel?: (model: string) => void;
}

/**
 * ChatError is a chat call that did not stream an answer: the gateway
 * refused it (status and the message of its OpenAI-shaped error body), the
 * browser could not reach it (status 0, `unreachable`), or the stream
 * carried an error event.
 */
export class ChatError extends Error {
  readonly status: number;
  readonly unreachable: boolean;

  constructor(message: string, status: number, unreachable = false) {
    super(message);
    this.name = 'ChatError';
    this.status = status;
    this.unreachable = unreachable;
  }
}

/** chatCompletionsURL joins a gateway origin and an AI route's path prefix with the chat path. */
export function chatCompletionsURL(origin: string, pathPrefix: string): string {
  return `${origin.replace(/\/+$/, '')}${pathPrefix.replace(/\/+$/, '')}/v1/chat/completions`;
}

interface Chunk {
  model?: string;
  choices?: { delta?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  error?: { message?: string };
}

/**
 * streamChat sends one user message through the gateway with `stream: true`
 * (asking for usage in the last chunk) and calls the handlers as the
 * server-sent chunks arrive. It resolves when the stream ends with [DONE] or
 * closes, and also when `signal` aborts; it rejects with ChatError.
 */
export async function streamChat(
  req: ChatRequest,
  handlers: ChatHandlers,
  signal: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'text/event-stream',
  };
  if (req.key !== '') headers.Authorization = `Bearer ${req.key}`;
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers,
      // The gateway is another origin: never send the console's cookie there.
      credentials: 'omit',
      cache: 'no-store',
      signal,
      body: JSON.stringify({
        model: req.model,
        messages: [{ role: 'user', content: req.prompt }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
  } catch (err) {
    if (signal.aborted) return;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ChatError(reason, 0, true);
  }
  if (!res.ok) {
    throw new ChatError(await errorMessage(res), res.status);
  }
  if (res.body === null) throw new ChatError('The gateway answered without a body.', res.status);

  // Set from the parser's callback, read by the loop below.
  const st: { failure?: ChatError; done: boolean; namedModel: boolean } = {
    done: false,
    namedModel: false,
  };
  const parser = new SSEParser((event) => {
    if (st.done || st.failure) return;
    const data = event.data.trim();
    if (data === '[DONE]') {
      st.done = true;
      return;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      st.failure = new ChatError(
        `The gateway sent a chunk that is not JSON: ${data.slice(0, 200)}`,
        res.status,
      );
      return;
    }
    if (event.event === 'error' || chunk.error) {
      st.failure = new ChatError(chunk.error?.message ?? data, res.status);
      return;
    }
    if (!st.namedModel && chunk.model) {
      st.namedModel = true;
      handlers.onModel?.(chunk.model);
    }
    for (const c of chunk.choices ?? []) {
      const text = c.delta?.content;
      if (text) handlers.onDelta(text);
    }
    if (chunk.usage) {
      handlers.onUsage({
        promptTokens: chunk.usage.prompt_tokens ?? 0,
        completionTokens: chunk.usage.completion_tokens ?? 0,
        totalTokens:
          chunk.usage.total_tokens ??
          (chunk.usage.prompt_tokens ?? 0) + (chunk.usage.completion_tokens ?? 0),
      });
    }
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!st.done && !st.failure) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      parser.push(value);
    }
  } catch (err) {
    if (signal.aborted) return;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ChatError(`The stream broke off: ${reason}`, res.status);
  } finally {
    if (st.done || st.failure) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  if (st.failure) throw st.failure;
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (typeof body.error?.message === 'string') return body.error.message;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON: show the text itself.
  }
  return text.trim() === '' ? `HTTP ${res.status}` : text.trim().slice(0, 500);
}
