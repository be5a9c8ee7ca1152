/**
 * The subscriber side of the fan-out bench, in its own process so that 1,000 clients do not
 * share the API's event loop: opens SUBSCRIBERS graphql-ws connections, each subscribed to
 * segmentChanged of one app, and reports every message's delay from the change's occurredAt.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, appId, count] = process.argv.slice(2) as [string, string, string, string];
const send = (message: object) => process.send!(message);

const delays: number[] = [];
const clients: Client[] = [];
let connected = 0;
for (let i = 0; i < Number(count); i += 1) {
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    on: { connected: () => (connected += 1) },
  });
  clients.push(client);
  client.subscribe<{ segmentChanged: { occurredAt: string } }>(
    { query: 'subscription($a: ID!) { segmentChanged(appId: $a) { id occurredAt newSegment trial { userId } } }', variables: { a: appId } },
    {
      next: ({ data }) => data && delays.push(Date.now() - Date.parse(data.segmentChanged.occurredAt)),
      error: (error) => send({ error: String((error as Error).message ?? error) }),
      complete: () => undefined,
    },
  );
}
while (connected < clients.length) await new Promise((resolve) => setTimeout(resolve, 50));
send({ connected });

process.on('message', async (message: 'progress' | 'report') => {
  if (message === 'progress') return send({ received: delays.length });
  send({ delays });
  await Promise.all(clients.map((client) => client.dispose()));
  process.exit(0);
});
