import { fork } from 'node:child_process';
import { ask, graphql, liveHeapMb, newApp, nextMessage, percentile, type Product, type Result } from '../support.ts';

/**
 * SUBSCRIBERS graphql-ws clients (in a child process) on one app's segmentChanged; trials
 * started at ~5/s each record a change; every client must receive every change. Latency is
 * from the change's occurredAt (stamped when the workflow records it) to the client's receipt.
 */
export async function subscriptionFanout({ url, api }: Product): Promise<Result[]> {
  const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
  const changes = Number(process.env.BENCH_FANOUT_CHANGES ?? 50);
  const app = await newApp(url, {});
  const heapBefore = await liveHeapMb(api);
  const child = fork(new URL('../fanout-subscribers.ts', import.meta.url), [url, app.apiKey, app.appId, String(subscribers)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const first = await nextMessage<{ connected?: number; error?: string }>(child, 'connections');
  if (!first.connected) {
    child.kill();
    throw new Error(`fan-out subscribers failed: ${first.error}`);
  }
  // The server subscribes each client after its connection is acknowledged; give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const heapPerSubscriberKb = (((await liveHeapMb(api)) - heapBefore) * 1024) / subscribers;
  for (let i = 0; i < changes; i += 1) {
    await graphql(
      url,
      app.apiKey,
      'mutation($a: ID!, $u: String!) { startTrial(input: {appId: $a, userId: $u, trialEnd: "2099-01-01T00:00:00Z"}) { errors { message } } }',
      { a: app.appId, u: `fan-${i}` },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const expected = subscribers * changes;
  const deadline = Date.now() + 60_000;
  let received = 0;
  while (received < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    received = (await ask<{ received: number }>(child, 'progress')).received;
  }
  const { delays } = await ask<{ delays: number[] }>(child, 'report');
  return [
    {
      name: 'subscription.fanout.p50_ms',
      value: percentile(delays, 50),
      unit: 'ms',
      note: `${subscribers} graphql-ws subscribers (another process) × ${changes} changes at ~5/s; received ${delays.length} of ${expected}`,
    },
    { name: 'subscription.fanout.p99_ms', value: percentile(delays, 99), unit: 'ms' },
    { name: 'subscription.fanout.received', value: delays.length, unit: 'messages', baseline: expected },
    {
      name: 'subscription.heap_per_subscriber_kb',
      value: Math.round(heapPerSubscriberKb * 10) / 10,
      unit: 'KB',
      note: 'API process heap after GC, before vs with the subscribers connected',
    },
  ];
}
