import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { newApp, percentile, pool, type Product, type Result } from '../support.ts';

type Trial = { userId: string | null; accountId: string | null };

/** How one kind of trial is started, sent its aha event, and recognised on the subscription. */
interface TrialKind {
  figure: string;
  start: (id: string) => object;
  aha: (id: string) => object;
  idOf: (trial: Trial) => string | null;
}

const TRIAL_END = { trial_end: '2099-01-01T00:00:00Z' };

/** A person's trial, and an account's (one member each, the events naming the account in context.groupId). */
const PERSON: TrialKind = {
  figure: 'segment.event_to_subscription',
  start: (userId) => ({ userId, event: 'Trial Started', properties: TRIAL_END }),
  aha: (userId) => ({ userId, event: 'Aha' }),
  idOf: (trial) => trial.userId,
};
const ACCOUNT: TrialKind = {
  figure: 'account.event_to_subscription',
  start: (accountId) => ({ userId: `${accountId}-member`, event: 'Trial Started', properties: TRIAL_END, context: { groupId: accountId } }),
  aha: (accountId) => ({ userId: `${accountId}-member`, event: 'Aha', context: { groupId: accountId } }),
  idOf: (trial) => trial.accountId,
};

/** From an aha event's ingest (HTTP 200) to the transition arriving on a graphql-ws subscription, for a person's trial and an account's. */
export async function eventToSubscription(product: Product): Promise<Result[]> {
  return [...(await measure(product, PERSON)), ...(await measure(product, ACCOUNT))];
}

/**
 * The same for a person's trial, offered at half of the transitions/s this run measured as the machine's capacity
 * (delivery.first_attempt at the highest rate): latency, not queueing.
 */
export async function eventToSubscriptionAtHalfCapacity(product: Product, capacity: number): Promise<Result[]> {
  const rate = Math.max(1, Math.floor(capacity / 2));
  const [, p95] = await measure(product, PERSON, rate);
  return [
    {
      name: `${PERSON.figure}.at_half_capacity.p95_ms`,
      value: p95!.value,
      unit: 'ms',
      note: `aha events offered at ${rate}/s, half of this run's capacity of ${capacity} transitions/s (delivery.first_attempt at the highest rate offered); goal ≤ 250 ms`,
    },
  ];
}

async function measure({ url }: Product, kind: TrialKind, ratePerSecond?: number): Promise<Result[]> {
  const count = Number(process.env.BENCH_LATENCY_USERS ?? 200);
  const app = await newApp(url, { ahaEvents: ['Aha'] });
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${app.apiKey}` },
  });
  const arrived = new Map<string, number>();
  const dispose = client.subscribe<{ segmentChanged: { newSegment: string; trial: Trial } }>(
    {
      query: 'subscription($a: ID!) { segmentChanged(appId: $a, segments: [found_value]) { newSegment trial { userId accountId } } }',
      variables: { a: app.appId },
    },
    {
      next: ({ data }) => {
        const id = data && kind.idOf(data.segmentChanged.trial);
        if (id) arrived.set(id, performance.now());
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  const auth = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
  const track = (body: object) =>
    fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) });
  const ids = Array.from({ length: count }, (_, i) => `lat-${i}`);
  await pool(ids, 20, async (id) => {
    await track(kind.start(id));
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const sent = new Map<string, number>();
  const started = performance.now();
  for (const [index, id] of ids.entries()) {
    if (ratePerSecond) {
      // Paced: each event at its time, sent without waiting for the one before.
      const wait = started + (index / ratePerSecond) * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sent.set(id, performance.now());
      void track(kind.aha(id));
      continue;
    }
    sent.set(id, performance.now());
    await track(kind.aha(id));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const deadline = Date.now() + 30_000;
  while (arrived.size < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  dispose();
  await client.dispose();
  const latencies = ids.filter((id) => arrived.has(id)).map((id) => arrived.get(id)! - sent.get(id)!);
  return [
    {
      name: `${kind.figure}.p50_ms`,
      value: percentile(latencies, 50),
      unit: 'ms',
      note: `${count} aha events ${ratePerSecond ? `at ${ratePerSecond}/s` : 'one after another, 20 ms apart (~40/s on a quiet machine: above capacity when the machine is busy, so queueing)'}; received ${latencies.length}`,
    },
    { name: `${kind.figure}.p95_ms`, value: percentile(latencies, 95), unit: 'ms' },
  ];
}
