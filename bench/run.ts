/**
 * `npm run bench`: throughput figures on this machine, each beside the bare limit measured
 * in the same run. Prints a table and writes bench/results.json.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from '../src/infra/net.ts';
import { startRuntime } from '../src/runtime.ts';
import { installTemporalLogging } from '../src/temporal/sdk-logging.ts';

interface Result {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  note?: string;
}

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;

async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) =>
    autocannon({ duration: DURATION_S, connections: CONNECTIONS, ...options }, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** The floor of what any Node HTTP handler can do here: a bare server answering JSON. */
async function bareNodeRequestsPerSecond(body: string): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const result = await load({ url: `http://127.0.0.1:${port}/`, method: 'POST', body: '{}' });
  server.close();
  return result.requests.average;
}

async function graphql(url: string, token: string, query: string, variables: object) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data: any };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!) : Number.NaN;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function newApp(url: string, settings: Record<string, unknown>) {
  const created = await graphql(url, 'tca_bench', 'mutation { createApp(input: {name: "bench"}) { app { id } apiKey writeKey } }', {});
  const app = created.data.createApp;
  await graphql(url, app.apiKey, 'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }', { i: { appId: app.app.id, ...settings } });
  return { appId: app.app.id as string, apiKey: app.apiKey as string, writeKey: app.writeKey as string };
}

/** From an aha event's ingest (HTTP 200) to the transition arriving on a graphql-ws subscription. */
async function eventToSubscription(url: string): Promise<Result[]> {
  const users = Number(process.env.BENCH_LATENCY_USERS ?? 200);
  const app = await newApp(url, { ahaEvents: ['Aha'] });
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.apiKey}` } });
  const arrived = new Map<string, number>();
  const dispose = client.subscribe<{ segmentChanged: { newSegment: string; trial: { userId: string } } }>(
    { query: 'subscription($a: ID!) { segmentChanged(appId: $a, segments: [found_value]) { newSegment trial { userId } } }', variables: { a: app.appId } },
    { next: ({ data }) => data && arrived.set(data.segmentChanged.trial.userId, performance.now()), error: () => undefined, complete: () => undefined },
  );
  const auth = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
  const track = (body: object) => fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) });
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
    { name: 'segment.event_to_subscription.p50_ms', value: percentile(latencies, 50), unit: 'ms', note: `${users} aha events at ~40/s; received ${latencies.length}` },
    { name: 'segment.event_to_subscription.p95_ms', value: percentile(latencies, 95), unit: 'ms' },
  ];
}

/**
 * Many open trial workflows at once, each with its timers: start them, then let every one's
 * inactivity timer fire together, and read the lateness (threshold → transition recorded)
 * from the recorded changes.
 */
async function openTrialsAndTimers(url: string, databaseUrl: string): Promise<Result[]> {
  const count = Number(process.env.BENCH_TRIALS ?? 10_000);
  const quietAfterS = Number(process.env.BENCH_QUIET_AFTER_S ?? 90);
  const app = await newApp(url, { inactivityAfter: `PT${quietAfterS}S` });
  const started = performance.now();
  const ids = Array.from({ length: count }, (_, i) => `open-${i}`);
  await pool(ids, 50, async (userId) => {
    const response = await graphql(url, app.apiKey, 'mutation($i: StartTrialInput!) { startTrial(input: $i) { errors { message } } }', {
      i: { appId: app.appId, userId, trialEnd: '2099-01-01T00:00:00Z' },
    });
    if (response.data?.startTrial?.errors?.length) throw new Error(JSON.stringify(response.data.startTrial.errors));
  });
  const startSeconds = (performance.now() - started) / 1000;
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const recorded = async (sequence: number) =>
    Number((await db.query('select count(*) as n from segment_changes where app_id = $1 and sequence = $2', [app.appId, sequence])).rows[0].n);
  const deadline = Date.now() + (quietAfterS + 600) * 1000;
  while ((await recorded(1)) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1000));
  const running = await recorded(1);
  const rssMb = Math.round(process.memoryUsage().rss / 1048576);
  while ((await recorded(2)) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1000));
  const quiet = await recorded(2);
  const { rows } = await db.query(
    `select extract(epoch from (quiet.occurred_at - (first.occurred_at + make_interval(secs => $2)))) * 1000 as lateness
     from segment_changes first join segment_changes quiet on quiet.trial_id = first.trial_id and quiet.sequence = 2
     where first.app_id = $1 and first.sequence = 1`,
    [app.appId, quietAfterS],
  );
  await db.end();
  const lateness = rows.map((row) => Number(row.lateness));
  return [
    {
      name: 'trials.open',
      value: running,
      unit: 'workflows',
      note: `${count} started through GraphQL startTrial at ${Math.round(count / startSeconds)}/s (50 concurrent); ${running} recorded their first segment and ${quiet} their inactivity transition before the deadline`,
    },
    { name: 'worker.rss_mb', value: rssMb, unit: 'MB', note: 'API + worker in one process with all trials open and cached' },
    { name: 'segment.timer_lateness.p50_ms', value: percentile(lateness, 50), unit: 'ms', note: `${lateness.length} inactivity timers due within ${Math.round(startSeconds)} s of each other` },
    { name: 'segment.timer_lateness.p99_ms', value: percentile(lateness, 99), unit: 'ms' },
  ];
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trialcast-bench-'));
  const logger = createLogger('warn');
  installTemporalLogging(logger);
  const config = {
    ...loadConfig({}),
    dataDir,
    port: 0,
    adminToken: 'tca_bench',
    temporalDevPort: await freePort(),
    temporalUiPort: await freePort(),
  };
  const runtime = await startRuntime({ role: 'all', config, logger, progress: (line) => console.error(line) });
  const results: Result[] = [];
  try {
    const url = runtime.apiUrl!;
    const created = await graphql(url, 'tca_bench', 'mutation { createApp(input: {name: "bench"}) { app { id } apiKey } }', {});
    const { app, apiKey } = created.data.createApp;
    await graphql(url, apiKey, 'mutation($a: ID!) { startTrial(input: {appId: $a, userId: "bench-user"}) { trial { id } } }', { a: app.id });

    const query = JSON.stringify({
      query: 'query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { id userId email segment trialStart trialEnd } }',
      variables: { a: app.id, u: 'bench-user' },
    });
    const sample = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: query });
    const sampleBody = await sample.text();

    const trialQuery = await load({
      url: `${url}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: query,
    });
    if (trialQuery.non2xx > 0 || trialQuery.errors > 0) throw new Error(`trial query had ${trialQuery.non2xx} non-2xx and ${trialQuery.errors} errors`);
    const bare = await bareNodeRequestsPerSecond(sampleBody);
    results.push(
      {
        name: 'graphql.trial_query.req_per_s',
        value: Math.round(trialQuery.requests.average),
        unit: 'req/s',
        baseline: Math.round(bare),
        note: `${CONNECTIONS} connections, ${DURATION_S} s, app API key auth + one indexed SELECT; baseline: bare node:http answering the same JSON`,
      },
      { name: 'graphql.trial_query.p99_ms', value: trialQuery.latency.p99, unit: 'ms' },
    );
    results.push(...(await eventToSubscription(url)));
    results.push(...(await openTrialsAndTimers(url, runtime.databaseUrl!)));
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.table(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit, baseline: r.baseline ?? '' })));
  const file = new URL('./results.json', import.meta.url);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
  process.exit(0);
}

await main();
