import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../api/types';
import { highlightParts } from './highlight';
import { normalizeLevel } from './levels';
import { initialLiveLines, keepLast, liveLinesFor, liveReducer } from './logBuffer';
import { reconnectDelay } from './useLogFollow';

const line = (text: string): LogEntry => ({ text, level: 'INFO' });

describe('highlightParts', () => {
  it('marks every match, ignoring case, and keeps the original text', () => {
    expect(highlightParts('GET /mcp 200 then get /MCP 500', '/mcp')).toEqual([
      { text: 'GET ', match: false },
      { text: '/mcp', match: true },
      { text: ' 200 then get ', match: false },
      { text: '/MCP', match: true },
      { text: ' 500', match: false },
    ]);
  });

  it('gives the whole text when there is no query or no match', () => {
    expect(highlightParts('abc', '')).toEqual([{ text: 'abc', match: false }]);
    expect(highlightParts('abc', 'x')).toEqual([{ text: 'abc', match: false }]);
    expect(highlightParts('', 'x')).toEqual([{ text: '', match: false }]);
  });

  it('handles matches at both ends and back to back', () => {
    expect(highlightParts('aaXaa', 'aa')).toEqual([
      { text: 'aa', match: true },
      { text: 'X', match: false },
      { text: 'aa', match: true },
    ]);
  });
});

describe('live lines', () => {
  it('appends, pauses into pending, and resumes in order', () => {
    let s = initialLiveLines('k');
    s = liveReducer(s, { type: 'append', key: 'k', entries: [line('1')] });
    s = liveReducer(s, { type: 'pause' });
    s = liveReducer(s, { type: 'append', key: 'k', entries: [line('2'), line('3')] });
    expect(s.live.map((e) => e.text)).toEqual(['1']);
    expect(s.pending).toHaveLength(2);
    s = liveReducer(s, { type: 'resume' });
    expect(s.live.map((e) => e.text)).toEqual(['1', '2', '3']);
    expect(s.pending).toEqual([]);
  });

  it('starts empty for a new filter but stays paused', () => {
    let s = liveReducer(initialLiveLines('old'), {
      type: 'append',
      key: 'old',
      entries: [line('1')],
    });
    s = liveReducer(s, { type: 'pause' });
    expect(liveLinesFor(s, 'new')).toEqual({ key: 'new', paused: true, live: [], pending: [] });
    s = liveReducer(s, { type: 'append', key: 'new', entries: [line('2')] });
    expect(s.key).toBe('new');
    expect(s.pending.map((e) => e.text)).toEqual(['2']);
    expect(s.live).toEqual([]);
  });

  it('keeps only the newest lines', () => {
    expect(keepLast([1, 2, 3, 4, 5], 3)).toEqual([3, 4, 5]);
    expect(keepLast([1, 2], 3)).toEqual([1, 2]);
  });
});

describe('log helpers', () => {
  it.each([
    ['INFO', 'info'],
    ['WARN', 'warn'],
    ['WARNING', 'warn'],
    ['ERROR', 'error'],
    ['DEBUG-4', 'debug'],
    ['', ''],
  ])('level %j shows as %j', (raw, want) => {
    expect(normalizeLevel(raw)).toBe(want);
  });

  it('backs off reconnects up to 15 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(reconnectDelay)).toEqual([
      1000, 2000, 4000, 8000, 15000, 15000, 15000,
    ]);
  });
});
