/**
 * One webhook attempt's HTTP exchange against a real loopback server: kept-alive
 * connections are reused, and a reused one the receiver has closed is retried once.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { requestOnce } from '../src/modules/webhooks/http-attempt.ts';

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok';
const servers: Array<{ close(): void }> = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

/** A receiver that answers on each connection per `onRequest`, counting connections and requests. */
async function receiver(onRequest: (socket: Socket, requestOnSocket: number) => void) {
  const seen = { connections: 0, requests: 0 };
  const server = createServer((socket) => {
    seen.connections += 1;
    let onThisSocket = 0;
    socket.on('data', (chunk) => {
      if (!chunk.toString().includes('\r\n\r\n')) return;
      seen.requests += 1;
      onRequest(socket, ++onThisSocket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  const target = { url: new URL(`http://127.0.0.1:${port}/hook`), address: '127.0.0.1', family: 4 as const };
  return { seen, send: () => requestOnce(target, 'POST', { 'content-type': 'application/json' }, '{}', 5000) };
}

describe('requestOnce', () => {
  it('reuses a kept-alive connection for the next attempt to the same address', async () => {
    const { seen, send } = await receiver((socket) => socket.write(OK));
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(200);
    expect(seen).toEqual({ connections: 1, requests: 2 });
  });

  it('retries once on a new connection when the reused one was closed by the receiver', async () => {
    // The second request on a connection finds it reset, as when a receiver drops an idle socket.
    const { seen, send } = await receiver((socket, requestOnSocket) => (requestOnSocket === 1 ? socket.write(OK) : socket.resetAndDestroy()));
    expect((await send()).statusCode).toBe(200);
    const second = await send();
    expect(second).toMatchObject({ statusCode: 200, error: null });
    expect(seen).toEqual({ connections: 2, requests: 3 });
  });

  it('does not retry a fresh connection that fails', async () => {
    const { seen, send } = await receiver((socket) => socket.resetAndDestroy());
    expect(await send()).toMatchObject({ statusCode: null, error: 'ECONNRESET' });
    expect(seen).toEqual({ connections: 1, requests: 1 });
  });
});
