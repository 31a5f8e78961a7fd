import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the test server received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: Received, res: ServerResponse) => void | Promise<void>;

/**
 * TestApiServer is a real HTTP server on 127.0.0.1 speaking the admin API's
 * wire format, so that the client is tested over real fetch, headers and
 * streaming bodies. Each test sets the handlers it needs.
 */
export class TestApiServer {
  readonly received: Received[] = [];
  private handlers = new Map<string, Handler>();
  private server: Server | undefined;
  private baseUrl = '';

  /** on registers the handler for "METHOD /path" (path without the query). */
  on(route: string, handler: Handler): void {
    this.handlers.set(route, handler);
  }

  reset(): void {
    this.handlers.clear();
    this.received.length = 0;
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const received: Received = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.received.push(received);
        const path = received.url.split('?')[0] ?? '';
        const handler = this.handlers.get(`${received.method} ${path}`);
        if (!handler) {
          sendJSON(res, 404, { error: { code: 'not_found', message: `no handler for ${path}` } });
          return;
        }
        void Promise.resolve(handler(received, res)).catch((err: unknown) => {
          res.destroy(err instanceof Error ? err : new Error(String(err)));
        });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${addr.port}/api/v1`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** sendJSON answers with a JSON body. */
export function sendJSON(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
