/** One server-sent event, as dispatched by {@link SSEParser}. */
export interface ServerSentEvent {
  /** The event type; "message" when the stream did not name one. */
  event: string;
  /** The data lines joined with "\n". */
  data: string;
  /** The last event id seen on the stream, or "" if none. */
  id: string;
}

/**
 * SSEParser turns chunks of a text/event-stream body into events, following
 * the WHATWG event-stream interpretation rules: lines end with LF, CR or
 * CRLF (also when a CRLF is split across chunks), comments start with ":",
 * several "data" lines make one event, and an event is dispatched at the
 * blank line that ends it. A partial event at the end of the stream is
 * dropped, as browsers do.
 */
export class SSEParser {
  private buffer = '';
  private skipLF = false;
  private eventType = '';
  private data: string[] = [];
  private lastId = '';
  private readonly onEvent: (event: ServerSentEvent) => void;
  /** Reconnection delay the server asked for with a "retry" field, in ms. */
  retryMs: number | undefined;

  constructor(onEvent: (event: ServerSentEvent) => void) {
    this.onEvent = onEvent;
  }

  /** The last event id, to send back as Last-Event-ID when reconnecting. */
  get lastEventId(): string {
    return this.lastId;
  }

  /** push feeds the next decoded chunk of the body. */
  push(chunk: string): void {
    let text = chunk;
    if (this.skipLF && text.startsWith('\n')) {
      text = text.slice(1);
    }
    this.skipLF = false;
    this.buffer += text;

    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i));
      if (c === '\r') {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === '\n') i++;
        } else {
          // The LF of a CRLF may arrive with the next chunk.
          this.skipLF = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    if (this.data.length === 0) {
      this.eventType = '';
      return;
    }
    const event: ServerSentEvent = {
      event: this.eventType || 'message',
      data: this.data.join('\n'),
      id: this.lastId,
    };
    this.eventType = '';
    this.data = [];
    this.onEvent(event);
  }
}
