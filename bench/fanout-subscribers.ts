/**
 * The subscriber side of the fan-out bench, in its own process so that 1,000 clients do not
 * share the API's event loop: opens SUBSCRIBERS graphql-ws connections (50 at a time, as a
 * listen backlog drops a thousand simultaneous connects), each subscribed to segmentChanged
 * of one app, and reports every message's delay from the change's occurredAt.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, appId, count] = process.argv.slice(2) as [string, string, string, string];
const send = (message: object) => process.send!(message);

const delays: number[] = [];
const clients: Client[] = [];

function subscriber(): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
      on: { connected: () => resolve(), closed: (event) => reject(new Error(`connection closed: ${(event as { reason?: string }).reason ?? 'no reason'}`)) },
    });
    clients.push(client);
    client.subscribe<{ segmentChanged: { occurredAt: string } }>(
      { query: 'subscription($a: ID!) { segmentChanged(appId: $a) { id occurredAt newSegment trial { userId } } }', variables: { a: appId } },
      {
        next: ({ data }) => data && delays.push(Date.now() - Date.parse(data.segmentChanged.occurredAt)),
        error: (error) => console.error('subscription error:', error),
        complete: () => undefined,
      },
    );
  });
}

try {
  for (let opened = 0; opened < Number(count); opened += 50) {
    await Promise.all(Array.from({ length: Math.min(50, Number(count) - opened) }, subscriber));
  }
  send({ connected: clients.length });
} catch (error) {
  send({ error: (error as Error).message });
}

process.on('message', async (message: 'progress' | 'report') => {
  if (message === 'progress') return send({ received: delays.length });
  await Promise.all(clients.map((client) => client.dispose()));
  // Exit only once the (large) report has left through the IPC channel.
  process.send!({ delays }, () => process.exit(0));
});
