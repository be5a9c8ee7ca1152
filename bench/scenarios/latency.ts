import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { newApp, percentile, pool, type Product, type Result } from '../support.ts';

/** From an aha event's ingest (HTTP 200) to the transition arriving on a graphql-ws subscription. */
export async function eventToSubscription({ url }: Product): Promise<Result[]> {
  const users = Number(process.env.BENCH_LATENCY_USERS ?? 200);
  const app = await newApp(url, { ahaEvents: ['Aha'] });
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${app.apiKey}` },
  });
  const arrived = new Map<string, number>();
  const dispose = client.subscribe<{ segmentChanged: { newSegment: string; trial: { userId: string } } }>(
    { query: 'subscription($a: ID!) { segmentChanged(appId: $a, segments: [found_value]) { newSegment trial { userId } } }', variables: { a: app.appId } },
    { next: ({ data }) => data && arrived.set(data.segmentChanged.trial.userId, performance.now()), error: () => undefined, complete: () => undefined },
  );
  const auth = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
  const track = (body: object) =>
    fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) });
  const ids = Array.from({ length: users }, (_, i) => `lat-${i}`);
  await pool(ids, 20, async (userId) => {
    await track({ userId, event: 'Trial Started', properties: { trial_end: '2099-01-01T00:00:00Z' } });
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const sent = new Map<string, number>();
  for (const userId of ids) {
    sent.set(userId, performance.now());
    await track({ userId, event: 'Aha' });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const deadline = Date.now() + 30_000;
  while (arrived.size < users && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  dispose();
  await client.dispose();
  const latencies = ids.filter((id) => arrived.has(id)).map((id) => arrived.get(id)! - sent.get(id)!);
  return [
    {
      name: 'segment.event_to_subscription.p50_ms',
      value: percentile(latencies, 50),
      unit: 'ms',
      note: `${users} aha events at ~40/s; received ${latencies.length}`,
    },
    { name: 'segment.event_to_subscription.p95_ms', value: percentile(latencies, 95), unit: 'ms' },
  ];
}
