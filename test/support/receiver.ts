import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** One answer; `body` replaces the default `answered <status>` (bytes as they are, for binary answers). */
export type Reply = { status: number; delayMs?: number; headers?: Record<string, string>; body?: string | Buffer };

/** A webhook receiver on loopback that records every request and answers from a script. */
export class Receiver {
  readonly requests: Received[] = [];
  #script: Reply[] = [];
  #server: Server | null = null;
  port = 0;

  #always: Reply = { status: 200 };

  /** Answers in this order, then 200 for ever. */
  script(...replies: Reply[]): this {
    this.#script = replies;
    return this;
  }

  /** The answer once the script has run out (200 unless set). */
  always(reply: Reply): this {
    this.#always = reply;
    return this;
  }

  async start(port = 0): Promise<this> {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body, at: Date.now() });
        const reply = this.#script.shift() ?? this.#always;
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
          res.end(reply.body ?? `answered ${reply.status}`);
        }, reply.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async waitFor(count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} webhook requests within ${timeoutMs} ms, got ${this.requests.length}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.requests.slice(0, count);
  }
}
