import { describe, expect, it } from 'vitest';
import { SSEParser, type ServerSentEvent } from './sse';

function parse(chunks: string[]): { events: ServerSentEvent[]; parser: SSEParser } {
  const events: ServerSentEvent[] = [];
  const parser = new SSEParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  return { events, parser };
}

describe('SSEParser', () => {
  it.each([
    ['LF', ['data: a\n\ndata: b\n\n']],
    ['CRLF', ['data: a\r\n\r\ndata: b\r\n\r\n']],
    ['CR', ['data: a\r\rdata: b\r\r']],
    ['CRLF split across chunks', ['data: a\r', '\n\r', '\ndata: b\r\n', '\r\n']],
    ['one character at a time', Array.from('data: a\n\ndata: b\n\n')],
  ])('dispatches one event per blank line (%s)', (_name, chunks) => {
    expect(parse(chunks).events.map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('joins data lines with newlines and keeps event names and ids', () => {
    const { events, parser } = parse(['event: log\nid: 7\ndata: one\ndata:two\n\n']);
    expect(events).toEqual([{ event: 'log', data: 'one\ntwo', id: '7' }]);
    expect(parser.lastEventId).toBe('7');
  });

  it('ignores comments, unknown fields and events without data', () => {
    const { events } = parse([': ping\n\nfoo: bar\n\nevent: x\n\ndata: real\n\n']);
    expect(events).toEqual([{ event: 'message', data: 'real', id: '' }]);
  });

  it('keeps the retry delay the server asks for', () => {
    const { parser } = parse(['retry: 2500\n\nretry: soon\n\n']);
    expect(parser.retryMs).toBe(2500);
  });

  it('drops an unfinished event at the end of the stream', () => {
    expect(parse(['data: complete\n\ndata: partial']).events.map((e) => e.data)).toEqual([
      'complete',
    ]);
  });
});
