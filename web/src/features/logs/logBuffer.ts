import type { LogEntry } from '../../api/types';

/** The most lines the view keeps; older ones are dropped first. */
export const maxRetainedLines = 10_000;

/**
 * LiveLines holds the lines that arrived by live follow for one view of the
 * log (`key`: the filter and the tail they follow). While paused, new lines
 * wait in `pending` so that the view stays still.
 */
export interface LiveLines {
  key: string;
  paused: boolean;
  live: LogEntry[];
  pending: LogEntry[];
}

export type LiveAction =
  { type: 'append'; key: string; entries: LogEntry[] } | { type: 'pause' } | { type: 'resume' };

export function initialLiveLines(key: string): LiveLines {
  return { key, paused: false, live: [], pending: [] };
}

/** liveLinesFor gives the state for `key`: a new view of the log starts empty. */
export function liveLinesFor(state: LiveLines, key: string): LiveLines {
  return state.key === key ? state : { ...initialLiveLines(key), paused: state.paused };
}

export function liveReducer(state: LiveLines, action: LiveAction): LiveLines {
  switch (action.type) {
    case 'append': {
      const s = liveLinesFor(state, action.key);
      if (s.paused) return { ...s, pending: keepLast([...s.pending, ...action.entries]) };
      return { ...s, live: keepLast([...s.live, ...action.entries]) };
    }
    case 'pause':
      return { ...state, paused: true };
    case 'resume':
      return {
        ...state,
        paused: false,
        live: keepLast([...state.live, ...state.pending]),
        pending: [],
      };
  }
}

/** keepLast drops the oldest lines beyond the limit. */
export function keepLast<T>(lines: T[], limit = maxRetainedLines): T[] {
  return lines.length > limit ? lines.slice(lines.length - limit) : lines;
}
