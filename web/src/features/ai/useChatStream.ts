import { useCallback, useEffect, useRef, useState } from 'react';
import { streamChat, type ChatRequest, type ChatUsage } from '../../api/chat';

/** Where a try-it chat stands. */
export type ChatStatus = 'idle' | 'streaming' | 'done' | 'stopped' | 'failed';

/** The state of the answer being streamed. */
export interface ChatState {
  status: ChatStatus;
  answer: string;
  model?: string;
  usage?: ChatUsage;
  /** Milliseconds from sending to the first piece of text. */
  firstTokenMs?: number;
  /** Milliseconds from sending to the end. */
  totalMs?: number;
  error?: unknown;
}

/**
 * useChatStream sends one message at a time through the gateway and keeps
 * the answer as it streams in. `stop` (and leaving the page) aborts the
 * request, which cancels the upstream call too.
 */
export function useChatStream() {
  const [state, setState] = useState<ChatState>({ status: 'idle', answer: '' });
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const send = useCallback((req: ChatRequest) => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    const started = performance.now();
    let first: number | undefined;
    setState({ status: 'streaming', answer: '' });
    streamChat(
      req,
      {
        onDelta: (text) => {
          first ??= performance.now() - started;
          const firstTokenMs = first;
          setState((s) => ({ ...s, answer: s.answer + text, firstTokenMs }));
        },
        onUsage: (usage) => setState((s) => ({ ...s, usage })),
        onModel: (model) => setState((s) => ({ ...s, model })),
      },
      ctl.signal,
    ).then(
      () => {
        const totalMs = performance.now() - started;
        setState((s) => ({ ...s, status: ctl.signal.aborted ? 'stopped' : 'done', totalMs }));
      },
      (error: unknown) => {
        setState((s) => ({ ...s, status: 'failed', error, totalMs: performance.now() - started }));
      },
    );
  }, []);

  const stop = useCallback(() => abort.current?.abort(), []);

  return { state, send, stop };
}
