/**
 * `npm run bench`: throughput figures on this machine, each beside the bare limit measured
 * in the same run. Prints a table and writes bench/results.json.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from '../src/infra/net.ts';
import { eventTypesFor, wantsEvent } from '../src/modules/webhooks/catalog.ts';
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
  const updated = await graphql(url, app.apiKey, 'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }', { i: { appId: app.app.id, ...settings } });
  if (updated.data.updateSegmentSettings.errors.length) throw new Error(JSON.stringify(updated.data.updateSegmentSettings.errors));
  return { appId: app.app.id as string, apiKey: app.apiKey as string, writeKey: app.writeKey as string };
}

/** From an aha event's ingest (HTTP 200) to the transition arriving on a graphql-ws subscription. */
async function eventToSubscription(url: string): Promise<Result[]> {
  const users = Number(process.env.BENCH_LATENCY_USERS ?? 200);
  const app = await newApp(url, { ahaEvents: ['Aha'] });
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

/** The API's heap after a full collection, so before/after readings compare live objects only. */
function liveHeapMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed / 1_048_576;
}

let ticksPerSecond: number | undefined;

/**
 * CPU seconds (user + system) used so far by this process and its descendants, live or exited,
 * summed by program (the Temporal dev server, PostgreSQL backends, …); `labels` names
 * processes by pid (this one is "trialcast": API, worker and load generator).
 */
function cpuSecondsByProgram(labels: Map<number, string>): Map<string, number> {
  const ticks = (ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })));
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // Fields after the command: state, ppid, …, utime, stime, and the same of its children
        // that have exited (PostgreSQL's backends come and go with the connection pool).
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
        return [{ pid: Number(pid), comm, ppid: fields[1]!, seconds: (fields[11]! + fields[12]! + fields[13]! + fields[14]!) / ticks }];
      } catch {
        return []; // exited meanwhile
      }
    });
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const { pid, ppid } of processes) {
      if (!ours.has(pid) && ours.has(ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  const byProgram = new Map<string, number>();
  for (const { pid, comm, seconds } of processes) {
    if (!ours.has(pid)) continue;
    const program = pid === process.pid ? 'trialcast' : (labels.get(pid) ?? comm);
    byProgram.set(program, (byProgram.get(program) ?? 0) + seconds);
  }
  return byProgram;
}

/** The child's next message, or an error naming what was awaited after a minute. */
async function nextMessage<T>(child: ChildProcess, awaiting: string): Promise<T> {
  const [answer] = (await once(child, 'message', { signal: AbortSignal.timeout(60_000) }).catch(() => {
    throw new Error(`no ${awaiting} from the fan-out subscribers within a minute`);
  })) as [T];
  return answer;
}

/** One request/answer over a child's IPC channel. */
async function ask<T>(child: ChildProcess, message: string): Promise<T> {
  child.send(message);
  return nextMessage<T>(child, message);
}

/**
 * SUBSCRIBERS graphql-ws clients (in a child process) on one app's segmentChanged; trials
 * started at ~5/s each record a change; every client must receive every change. Latency is
 * from the change's occurredAt (stamped when the workflow records it) to the client's receipt.
 */
async function subscriptionFanout(url: string): Promise<Result[]> {
  const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
  const changes = Number(process.env.BENCH_FANOUT_CHANGES ?? 50);
  const app = await newApp(url, {});
  const heapBefore = liveHeapMb();
  const child = fork(new URL('./fanout-subscribers.ts', import.meta.url), [url, app.apiKey, app.appId, String(subscribers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = await nextMessage<{ connected?: number; error?: string }>(child, 'connections');
  if (!first.connected) {
    child.kill();
    throw new Error(`fan-out subscribers failed: ${first.error}`);
  }
  // The server subscribes each client after its connection is acknowledged; give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const heapPerSubscriberKb = ((liveHeapMb() - heapBefore) * 1024) / subscribers;
  for (let i = 0; i < changes; i += 1) {
    await graphql(url, app.apiKey, 'mutation($a: ID!, $u: String!) { startTrial(input: {appId: $a, userId: $u, trialEnd: "2099-01-01T00:00:00Z"}) { errors { message } } }', { a: app.appId, u: `fan-${i}` });
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
    { name: 'subscription.fanout.p50_ms', value: percentile(delays, 50), unit: 'ms', note: `${subscribers} graphql-ws subscribers (another process) × ${changes} changes at ~5/s; received ${delays.length} of ${expected}` },
    { name: 'subscription.fanout.p99_ms', value: percentile(delays, 99), unit: 'ms' },
    { name: 'subscription.fanout.received', value: delays.length, unit: 'messages', baseline: expected },
    { name: 'subscription.heap_per_subscriber_kb', value: Math.round(heapPerSubscriberKb * 10) / 10, unit: 'KB', note: "API process heap after GC, before vs with the subscribers connected" },
  ];
}

/** A rate limit high enough that the bench measures the ingest path, not the limiter. */
const UNLIMITED = { rateLimitPerSecond: 1_000_000 };

/** Track messages with unique ids, so none is deduplicated away. */
function trackMessages(prefix: string, count: number, at: number) {
  return Array.from({ length: count }, (_, i) => ({
    type: 'track',
    messageId: `${prefix}-${at}-${i}`,
    userId: `ingest-user-${(at * count + i) % 5000}`,
    event: 'Report Viewed',
    properties: { report: 'weekly', rows: i },
    timestamp: new Date().toISOString(),
  }));
}

/**
 * `/v1/batch` (100 messages a request) and single `/v1/track`, each acknowledged only after
 * its commit; beside them, a bare node:http server and raw multi-row INSERTs of the same rows.
 * After each load the stored rows are counted: every acknowledged event must be there.
 */
async function ingestThroughput(url: string, databaseUrl: string): Promise<Result[]> {
  const app = await newApp(url, UNLIMITED);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await measureIngest(url, app, databaseUrl, db);
  } finally {
    await db.end();
  }
}

async function measureIngest(url: string, app: { appId: string; writeKey: string }, databaseUrl: string, db: pg.Client): Promise<Result[]> {
  const auth = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
  const stored = async () => Number((await db.query('select count(*) as n from events where app_id = $1', [app.appId])).rows[0].n);
  let sequence = 0;
  const unique = (path: string, body: (n: number) => object) => [{ method: 'POST' as const, path, setupRequest: (request: any) => ({ ...request, body: JSON.stringify(body(sequence++)) }) }];

  const BATCH = 100;
  const probe = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ batch: trackMessages('probe', BATCH, 0) }) });
  if (probe.status !== 200) throw new Error(`/v1/batch answered ${probe.status}: ${await probe.text()}`);
  const batch = await load({ url: `${url}/v1/batch`, headers: { 'content-type': 'application/json', authorization: auth }, requests: unique('/v1/batch', (n) => ({ batch: trackMessages('b', BATCH, n) })) });
  const afterBatch = await stored();
  const track = await load({ url: `${url}/v1/track`, headers: { 'content-type': 'application/json', authorization: auth }, requests: unique('/v1/track', (n) => trackMessages('t', 1, n)[0]!) });
  const afterTrack = await stored();
  for (const [name, result] of [['batch', batch], ['track', track]] as const) {
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`/v1/${name} had ${result.non2xx} non-2xx and ${result.errors} errors: ${JSON.stringify(result.statusCodeStats)}`);
  }
  const acknowledged = batch['2xx'] * BATCH + track['2xx'];
  if (afterTrack < acknowledged) throw new Error(`lost events: ${acknowledged} acknowledged, ${afterTrack} stored`);

  // The machine's limit for the same rows: 100-row INSERTs on as many connections as our pool.
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  let rawRows = 0;
  const rawUntil = performance.now() + DURATION_S * 1000;
  await Promise.all(Array.from({ length: 10 }, async (_, worker) => {
    for (let n = 0; performance.now() < rawUntil; n++) {
      const rows = trackMessages(`raw-${worker}`, BATCH, n);
      await raw.query(
        `insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
         select $1, m, 'track', 'Report Viewed', u, p, '{}', '{}', now(), now()
         from jsonb_to_recordset($2::jsonb) as v(m text, u text, p jsonb)`,
        [app.appId, JSON.stringify(rows.map((row) => ({ m: row.messageId, u: row.userId, p: row.properties })))],
      );
      rawRows += BATCH;
    }
  }));
  await raw.end();
  const bare = await bareNodeRequestsPerSecond('{"success":true}');
  return [
    {
      name: 'ingest.batch.events_per_s',
      value: Math.round(batch.requests.average * BATCH),
      unit: 'events/s',
      baseline: Math.round(rawRows / DURATION_S),
      note: `/v1/batch of ${BATCH}, ${CONNECTIONS} connections, ${DURATION_S} s, p99 ${batch.latency.p99} ms, ${batch.non2xx} non-2xx; baseline: raw 100-row INSERTs on 10 connections`,
    },
    {
      name: 'ingest.track.req_per_s',
      value: Math.round(track.requests.average),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: `/v1/track, ${CONNECTIONS} connections, ${DURATION_S} s, ${track.non2xx} non-2xx; baseline: bare node:http`,
    },
    { name: 'ingest.track.p99_ms', value: track.latency.p99, unit: 'ms' },
    { name: 'ingest.durable', value: afterTrack - afterBatch >= track['2xx'] && afterBatch >= batch['2xx'] * BATCH ? 1 : 0, unit: 'bool', note: `${acknowledged} events acknowledged, ${afterTrack} stored` },
  ];
}

interface DeliveryLoad {
  trials: number;
  /** Aha transitions offered per second. */
  rate: number;
  endpoints: number;
  eventTypes: string[];
}

interface DeliveryRun {
  expected: number;
  offeredSeconds: number;
  /** From the first aha event sent to the last delivery received. */
  seconds: number;
  latencies: number[];
  /** CPU milliseconds per transition, by program. */
  cpuPerTransition: Array<{ program: string; ms: number }>;
  /** One of the run's trial workflows (after its start and its aha transition). */
  sampleWorkflowId: string;
}

/**
 * Webhook delivery: trials reach their aha event at a steady rate; each transition goes to
 * every endpoint (all on one receiver on loopback, in another process), which reads the
 * latency from the body's occurred_at (recorded) to the first attempt's arrival; and the
 * CPU time each process spent per transition.
 */
async function runDeliveryLoad(url: string, databaseUrl: string, load: DeliveryLoad): Promise<DeliveryRun> {
  const { trials, rate, endpoints, eventTypes } = load;
  const ahaTypes = eventTypesFor({ oldSegment: 'exploring', newSegment: 'found_value' }).filter((type) => wantsEvent({ eventTypes }, type));
  const expected = trials * endpoints * ahaTypes.length;
  const receiver = fork(new URL('./delivery-receiver.ts', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await nextMessage<{ port: number }>(receiver, 'receiver port');
  const hookUrl = `http://127.0.0.1:${port}/hook`;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const app = await newApp(url, { ahaEvents: ['Aha'], ...UNLIMITED });
    for (let i = 0; i < endpoints; i++) {
      await graphql(url, app.apiKey, 'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { errors { message } } }', { i: { appId: app.appId, url: `${hookUrl}/${i}`, eventTypes } });
    }
    const ids = Array.from({ length: trials }, (_, i) => `dlv-${i}`);
    await pool(ids, 50, async (userId) => {
      await graphql(url, app.apiKey, 'mutation($i: StartTrialInput!) { startTrial(input: $i) { errors { message } } }', { i: { appId: app.appId, userId, trialEnd: '2099-01-01T00:00:00Z' } });
    });
    // The measured phase starts once every trial has recorded its start and its trial.started
    // deliveries have left: the start-up backlog is not counted against the aha transitions.
    const backlog = async () => {
      const { rows } = await db.query(
        `select (select count(*) from segment_changes where app_id = $1) as recorded,
                (select count(*) from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 and d.status = 'pending') as pending`,
        [app.appId],
      );
      return trials - Number(rows[0].recorded) + Number(rows[0].pending);
    };
    const settleBy = Date.now() + 600_000;
    while ((await backlog()) > 0) {
      if (Date.now() > settleBy) throw new Error(`trial starts not settled within 10 minutes (${await backlog()} left)`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const auth = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
    const labels = new Map([[receiver.pid!, 'receiver']]);
    const cpuBefore = cpuSecondsByProgram(labels);
    const started = Date.now();
    for (let i = 0; i < ids.length; i++) {
      const wait = started + (i / rate) * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      void fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ userId: ids[i], event: 'Aha', messageId: `aha-${i}` }) });
    }
    const offeredSeconds = (Date.now() - started) / 1000;
    const deadline = Date.now() + 180_000;
    let received = 0;
    while (received < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      received = (await ask<{ received: number }>(receiver, 'progress')).received;
    }
    const { arrivals } = await ask<{ arrivals: Array<{ at: number; latency: number }> }>(receiver, 'report');
    const cpuAfter = cpuSecondsByProgram(labels);
    return {
      expected,
      offeredSeconds,
      seconds: (Math.max(...arrivals.map((arrival) => arrival.at)) - started) / 1000,
      latencies: arrivals.map((arrival) => arrival.latency),
      cpuPerTransition: [...cpuAfter].map(([program, seconds]) => ({ program, ms: ((seconds - (cpuBefore.get(program) ?? 0)) * 1000) / trials })),
      sampleWorkflowId: `trial:${app.appId}:${ids[0]}`,
    };
  } finally {
    await db.end();
    receiver.kill();
  }
}

const describeLoad = (run: DeliveryRun, load: DeliveryLoad) =>
  `${run.latencies.length} of ${run.expected} deliveries (${load.trials} aha transitions offered at ${load.rate}/s over ${run.offeredSeconds.toFixed(1)} s, × ${load.endpoints} endpoints taking ${load.eventTypes.join(',')}) received by a loopback receiver (another process) within ${run.seconds.toFixed(1)} s`;

/**
 * Sustained deliveries: many endpoints per transition, offered faster than the machine can
 * go. Also the Temporal work a delivery costs: lanes started, and one trial's history.
 */
async function deliveryThroughput(url: string, databaseUrl: string, temporalAddress: string): Promise<Result[]> {
  const load: DeliveryLoad = {
    trials: Number(process.env.BENCH_DELIVERY_TRIALS ?? 1000),
    rate: Number(process.env.BENCH_DELIVERY_RATE ?? 200),
    endpoints: Number(process.env.BENCH_DELIVERY_ENDPOINTS ?? 10),
    eventTypes: ['*'],
  };
  const run = await runDeliveryLoad(url, databaseUrl, load);
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const lanes = (await client.workflow.count('WorkflowType = "webhookLane"')).count;
  const events = (await client.workflow.getHandle(run.sampleWorkflowId).fetchHistory()).events ?? [];
  await connection.close();
  const markers = events.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length;
  return [
    { name: 'delivery.per_s', value: Math.round(run.latencies.length / run.seconds), unit: 'deliveries/s', note: describeLoad(run, load) },
    {
      name: 'delivery.temporal_lanes',
      value: lanes,
      unit: 'workflows',
      note: `delivery lanes started in the run (a lane only for a delivery whose first attempt failed); a change's first attempts are one local activity in the trial's own workflow (${markers} local-activity markers, ${events.length} history events in all, in one trial's history after its 2 transitions)`,
    },
  ];
}

/**
 * Transition recorded → first attempt, one delivery per transition, at each offered rate of
 * BENCH_FIRST_ATTEMPT_RATES; with the CPU a transition costs end to end (ingest, signal,
 * workflow task, recording, attempt), which bounds the rate this machine can sustain.
 */
async function firstAttemptLatency(url: string, databaseUrl: string): Promise<Result[]> {
  const results: Result[] = [];
  const rates = (process.env.BENCH_FIRST_ATTEMPT_RATES ?? '30,200').split(',').map(Number);
  for (const rate of rates) {
    const load: DeliveryLoad = { trials: Number(process.env.BENCH_FIRST_ATTEMPT_TRIALS ?? 1500), rate, endpoints: 1, eventTypes: ['trial.segment_changed'] };
    const run = await runDeliveryLoad(url, databaseUrl, load);
    const cpuTotal = run.cpuPerTransition.reduce((sum, { ms }) => sum + ms, 0);
    const cpuByProgram = run.cpuPerTransition
      .filter(({ ms }) => ms >= 0.1)
      .sort((a, b) => b.ms - a.ms)
      .map(({ program, ms }) => `${program} ${ms.toFixed(1)}`)
      .join(', ');
    const prefix = `delivery.first_attempt.at_${rate}_per_s`;
    const [p50, p99] = [percentile(run.latencies, 50), percentile(run.latencies, 99)];
    // The contract's names carry the highest offered rate (the issue's target is at 200/s).
    if (rate === Math.max(...rates)) {
      results.push(
        { name: 'delivery.first_attempt.p50_ms', value: p50, unit: 'ms', note: `transition recorded → first attempt received, offered ${rate} transitions/s (${prefix}.*)` },
        { name: 'delivery.first_attempt.p99_ms', value: p99, unit: 'ms', note: "as delivery.first_attempt.p50_ms" },
      );
    }
    results.push(
      { name: `${prefix}.transitions_per_s`, value: Math.round(load.trials / run.seconds), unit: 'transitions/s', note: describeLoad(run, load) },
      { name: `${prefix}.p50_ms`, value: p50, unit: 'ms', note: 'transition recorded (its occurred_at) → first attempt received' },
      { name: `${prefix}.p99_ms`, value: p99, unit: 'ms' },
      {
        name: `${prefix}.cpu_ms_per_transition`,
        value: Math.round(cpuTotal),
        unit: 'ms',
        note: `CPU time (user + system) per transition, all processes: ${cpuByProgram}; ${availableParallelism()} cores give at most ${Math.round((availableParallelism() * 1000) / cpuTotal)} transitions/s`,
      },
    );
  }
  return results;
}

/**
 * Many open trial workflows at once, each with its timers (days away), and among them probe
 * trials whose inactivity timers fall due at a steady rate: the lateness (threshold →
 * transition recorded, read from the recorded changes) is what a timer costs under that load.
 */
async function openTrialsAndTimers(url: string, databaseUrl: string): Promise<Result[]> {
  const count = Number(process.env.BENCH_TRIALS ?? 10_000);
  const probes = Number(process.env.BENCH_TIMER_PROBES ?? 300);
  const quietAfterS = Number(process.env.BENCH_QUIET_AFTER_S ?? 60);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const recorded = async (appId: string, sequence: number) =>
    Number((await db.query('select count(*) as n from segment_changes where app_id = $1 and sequence = $2', [appId, sequence])).rows[0].n);
  const start = async (appId: string, apiKey: string, userId: string) => {
    const response = await graphql(url, apiKey, 'mutation($i: StartTrialInput!) { startTrial(input: $i) { errors { message } } }', {
      i: { appId, userId, trialEnd: '2099-01-01T00:00:00Z' },
    });
    if (response.data?.startTrial?.errors?.length) throw new Error(JSON.stringify(response.data.startTrial.errors));
  };
  const waitFor = async (appId: string, sequence: number, total: number, deadline: number) => {
    let lastReport = Date.now();
    let done = await recorded(appId, sequence);
    while (done < total && Date.now() < deadline) {
      if (Date.now() - lastReport >= 30_000) {
        console.error(`  trials: ${done} of ${total} have recorded change ${sequence}`);
        lastReport = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      done = await recorded(appId, sequence);
    }
    return done;
  };

  // The load: trials that stay open (their inactivity and trial-end timers days away).
  const open = await newApp(url, {});
  const started = performance.now();
  await pool(Array.from({ length: count }, (_, i) => `open-${i}`), 50, (userId) => start(open.appId, open.apiKey, userId));
  const startSeconds = (performance.now() - started) / 1000;
  const running = await waitFor(open.appId, 1, count, Date.now() + 1_200_000);
  const settledSeconds = (performance.now() - started) / 1000;
  const rssMb = Math.round(process.memoryUsage().rss / 1048576);

  // The probe, among them: trials whose inactivity timer falls due at a steady 10 a second.
  const probe = await newApp(url, { inactivityAfter: `PT${quietAfterS}S` });
  const probeIds = Array.from({ length: probes }, (_, i) => `probe-${i}`);
  const probeStart = performance.now();
  for (const [i, userId] of probeIds.entries()) {
    const due = probeStart + i * 100;
    if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    await start(probe.appId, probe.apiKey, userId);
  }
  const quiet = await waitFor(probe.appId, 2, probes, Date.now() + (quietAfterS + 600) * 1000);
  const { rows } = await db.query(
    `select extract(epoch from (quiet.occurred_at - (first.occurred_at + make_interval(secs => $2)))) * 1000 as lateness
     from segment_changes first join segment_changes quiet on quiet.trial_id = first.trial_id and quiet.sequence = 2
     where first.app_id = $1 and first.sequence = 1`,
    [probe.appId, quietAfterS],
  );
  const stillOpen = Number((await db.query(`select count(*) as n from trials where app_id = $1 and segment = 'exploring'`, [open.appId])).rows[0].n);
  await db.end();
  const lateness = rows.map((row) => Number(row.lateness));
  return [
    {
      name: 'trials.open',
      value: stillOpen,
      unit: 'workflows',
      note: `${count} started through GraphQL startTrial at ${Math.round(count / startSeconds)}/s (50 concurrent); ${running} had recorded their first segment after ${Math.round(settledSeconds)} s; ${stillOpen} still open at the end`,
    },
    { name: 'worker.rss_mb', value: rssMb, unit: 'MB', note: 'API + worker in one process with all trials open' },
    {
      name: 'segment.timer_lateness.p50_ms',
      value: percentile(lateness, 50),
      unit: 'ms',
      note: `${quiet} of ${probes} probe trials' inactivity timers (due at 10/s) among the ${stillOpen} open trials: threshold → transition recorded`,
    },
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
    // The delivery bench's receiver is on loopback.
    webhookAllowPrivateTargets: true,
    temporalDevPort: await freePort(),
    temporalUiPort: await freePort(),
  };
  const runtime = await startRuntime({ role: 'all', config, logger, progress: (line) => console.error(line) });
  const results: Result[] = [];
  try {
    const url = runtime.apiUrl!;
    // BENCH_ONLY=ingest,graphql,latency,fanout,delivery,first-attempt,trials runs a subset.
    const only = new Set((process.env.BENCH_ONLY ?? 'graphql,ingest,latency,fanout,delivery,first-attempt,trials').split(','));
    if (only.has('ingest')) results.push(...(await ingestThroughput(url, runtime.databaseUrl!)));
    if (only.has('graphql')) results.push(...(await trialQueryThroughput(url)));
    if (only.has('latency')) results.push(...(await eventToSubscription(url)));
    if (only.has('fanout')) results.push(...(await subscriptionFanout(url)));
    if (only.has('delivery')) results.push(...(await deliveryThroughput(url, runtime.databaseUrl!, runtime.temporalAddress)));
    if (only.has('first-attempt')) results.push(...(await firstAttemptLatency(url, runtime.databaseUrl!)));
    if (only.has('trials')) results.push(...(await openTrialsAndTimers(url, runtime.databaseUrl!)));
  } catch (error) {
    console.error('bench failed:', error);
    process.exitCode = 1;
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.table(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit, baseline: r.baseline ?? '' })));
  const file = new URL('./results.json', import.meta.url);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
  process.exit();
}

async function trialQueryThroughput(url: string): Promise<Result[]> {
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
  return [
    {
      name: 'graphql.trial_query.req_per_s',
      value: Math.round(trialQuery.requests.average),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: `${CONNECTIONS} connections, ${DURATION_S} s, app API key auth + one indexed SELECT; baseline: bare node:http answering the same JSON`,
    },
    { name: 'graphql.trial_query.p99_ms', value: trialQuery.latency.p99, unit: 'ms' },
  ];
}

await main();
