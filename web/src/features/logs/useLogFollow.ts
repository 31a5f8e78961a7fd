import { useEffect, useRef, useState } from 'react';
import { isApiError } from '../../api/client';
import { useApi } from '../../api/context';
import type { LogEntry, LogQuery } from '../../api/types';

/** Where live follow stands. */
export type FollowPhase = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'failed';

export interface FollowState {
  phase: FollowPhase;
  /** The last failure; kept while reconnecting so it can be shown. */
  error: unknown;
}

const flushEveryMs = 100;

/** reconnectDelay backs off 1 s, 2 s, 4 s … up to 15 s between attempts. */
export function reconnectDelay(attempt: number): number {
  return Math.min(15_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

/**
 * useLogFollow streams new gateway.log lines matching `filter` while
 * `enabled`, reconnecting after drops (server restart, log rotation, network)
 * and giving up only on errors that retrying cannot fix. Lines are handed to
 * `onLines` in batches, at most every 100 ms, to keep rendering cheap. A new
 * `generation` starts over, e.g. after the view reloaded the tail.
 */
export function useLogFollow(
  filter: Omit<LogQuery, 'lines'>,
  enabled: boolean,
  generation: number,
  onLines: (entries: LogEntry[]) => void,
): FollowState {
  const api = useApi();
  const [state, setState] = useState<FollowState>({ phase: 'idle', error: null });
  const onLinesRef = useRef(onLines);
  useEffect(() => {
    onLinesRef.current = onLines;
  }, [onLines]);

  const level = filter.level ?? '';
  const q = filter.q ?? '';

  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    let buffer: LogEntry[] = [];
    const flusher = window.setInterval(() => {
      if (buffer.length === 0) return;
      const batch = buffer;
      buffer = [];
      onLinesRef.current(batch);
    }, flushEveryMs);

    const run = async () => {
      let attempt = 0;
      let lastError: unknown = null;
      while (!ctrl.signal.aborted) {
        setState({ phase: attempt === 0 ? 'connecting' : 'reconnecting', error: lastError });
        try {
          await api.followGatewayLogs(
            { level, q },
            {
              onOpen: () => {
                attempt = 0;
                lastError = null;
                setState({ phase: 'live', error: null });
              },
              onEntry: (e) => buffer.push(e),
            },
            ctrl.signal,
          );
        } catch (err) {
          // A lost session is handled globally (back to login); other client
          // errors, such as a rejected filter, will not heal by retrying.
          if (isApiError(err) && err.status >= 400 && err.status < 500 && err.status !== 429) {
            setState({ phase: 'failed', error: err });
            return;
          }
          lastError = err;
        }
        attempt++;
        await sleep(reconnectDelay(attempt), ctrl.signal);
      }
    };
    void run();

    return () => {
      ctrl.abort();
      window.clearInterval(flusher);
    };
  }, [api, level, q, enabled, generation]);

  return enabled ? state : { phase: 'idle', error: null };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const id = window.setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        window.clearTimeout(id);
        resolve();
      },
      { once: true },
    );
  });
}
