/**
 * `npm run soak`: the long faults and the soak of issue 29 (RELIABILITY.md has the figures), each on a fresh embedded
 * stack of real processes (test/drills/stack.ts) under a steady load: new trial users who start a trial and reach
 * their aha 5 s later (two moves, two webhooks each), other events from known users, live subscribers to the moves,
 * and console queries.
 *
 * - outage: the receiver down for OUTAGE_MINUTES (30) under steady moves;
 * - temporal-freeze, postgres-freeze: the Temporal server's or PostgreSQL's processes stopped (SIGSTOP) for
 *   FREEZE_SECONDS (60), then continued;
 * - pool-exhausted: another client holds every PostgreSQL connection it can get, Trialcast's own closed by the server
 *   (so its pools must open new ones), for FREEZE_SECONDS;
 * - soak: SOAK_MINUTES (60) of steady mixed load, every process's memory sampled each minute.
 *
 * Afterwards each phase counts, from the database and the receiver: events acknowledged and stored, users whose aha
 * was acknowledged and who are in found_value, moves recorded and webhooks received (by webhook-id), duplicates, and
 * users whose webhooks arrived out of order. SOAK_ONLY=outage,soak picks phases. Writes test/drills/soak-results.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, sendUntilAcknowledged, sleep } from './harness.ts';
import { startStack, stopStack, type Stack } from './stack.ts';

const minutes = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 60_000;
const SOAK_MS = minutes('SOAK_MINUTES', 60);
const OUTAGE_MS = minutes('OUTAGE_MINUTES', 30);
const FREEZE_MS = Number(process.env.FREEZE_SECONDS ?? 60) * 1000;
const USERS_PER_SECOND = Number(process.env.SOAK_USERS_PER_SECOND ?? 0.5);
const OTHER_EVENTS_PER_SECOND = Number(process.env.SOAK_EVENTS_PER_SECOND ?? 10);
const AHA_AFTER_MS = 5000;
const SETTLE_MS = 15 * 60_000;
// Retries every 2 minutes at most, for 34 minutes: a 30-minute outage ends inside every delivery's window.
const RETRY_SCHEDULE = ['PT0S', 'PT5S', 'PT30S', 'PT1M', ...Array.from({ length: 16 }, () => 'PT2M')];

const percentile = (values: number[], p: number) => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
};

/** The phase's app: its settings, its endpoint to the receiver, and the keys to send and read with. */
async function createApp(stack: Stack, name: string) {
  const target = { apiUrls: [stack.api.url], databaseUrl: () => stack.postgres.url, receiver: stack.receiver };
  const { app, writeKey, apiKey } = (await gql(target, `mutation { createApp(input: {name: "${name}"}) { app { id } writeKey apiKey } }`, {})).createApp;
  await gql(
    target,
    'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }',
    { i: { appId: app.id, ahaEvents: ['Aha'] } },
    apiKey,
  );
  const created = await gql(
    target,
    'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { errors { message } } }',
    { i: { appId: app.id, url: `http://127.0.0.1:${stack.receiver.port}/hooks`, timeoutMs: 2000, retrySchedule: RETRY_SCHEDULE } },
    apiKey,
  );
  if (created.createWebhookEndpoint.errors.length) throw new Error(JSON.stringify(created.createWebhookEndpoint.errors));
  return { appId: app.id as string, writeKey: writeKey as string, apiKey: apiKey as string };
}

type App = Awaited<ReturnType<typeof createApp>>;

/** The steady load and what it saw: every try of every event, the aha times, the subscribers' latencies. */
class Workload {
  readonly tries: Array<{ at: number; status: number | null; ms: number }> = [];
  readonly ahaSentAt = new Map<string, number>();
  readonly ahaAcked = new Set<string>();
  readonly toSubscription: Array<{ at: number; ms: number }> = [];
  readonly consoleQueries: Array<{ at: number; ms: number; ok: boolean }> = [];
  readonly counts = { sent: 0, tries: 0 };
  readonly #inFlight = new Set<Promise<void>>();
  readonly #subscribers: WsClient[] = [];
  #users = 0;
  #running = false;
  #loops: Array<Promise<void>> = [];

  readonly stack: Stack;
  readonly app: App;
  readonly prefix: string;
  constructor(stack: Stack, app: App, prefix: string) {
    this.stack = stack;
    this.app = app;
    this.prefix = prefix;
  }

  #send(message: Record<string, unknown>, onAcked?: () => void): void {
    const sending = sendUntilAcknowledged({ apiUrls: [this.stack.api.url] }, 0, this.app.writeKey, message, this.counts, (status, ms) =>
      this.tries.push({ at: Date.now(), status, ms }),
    ).then(onAcked);
    this.#inFlight.add(sending);
    void sending.finally(() => this.#inFlight.delete(sending));
  }

  start(subscribers = 3): void {
    this.#running = true;
    for (let i = 0; i < subscribers; i++) this.#subscribe();
    this.#loops = [
      this.#every(1000 / USERS_PER_SECOND, () => this.#newUser()),
      this.#every(1000 / OTHER_EVENTS_PER_SECOND, () => this.#otherEvent()),
      this.#every(2000, () => this.#consoleQuery()),
    ];
  }

  async #every(intervalMs: number, act: () => void | Promise<void>): Promise<void> {
    for (let next = Date.now(); this.#running; next += intervalMs) {
      if (next > Date.now()) await sleep(next - Date.now());
      if (this.#running) void act();
    }
  }

  #newUser(): void {
    const userId = `${this.prefix}-${this.#users++}`;
    this.#send({ userId, event: 'Trial Started', messageId: `${userId}-start`, properties: { trial_end: '2099-01-01T00:00:00Z' } });
    setTimeout(() => {
      if (!this.#running) return;
      this.ahaSentAt.set(userId, Date.now());
      this.#send({ userId, event: 'Aha', messageId: `${userId}-aha` }, () => this.ahaAcked.add(userId));
    }, AHA_AFTER_MS);
  }

  #otherEvent(): void {
    if (this.#users === 0) return;
    const userId = `${this.prefix}-${Math.floor(Math.random() * this.#users)}`;
    this.#send({ userId, event: 'Clicked', messageId: `${userId}-click-${this.counts.sent}` });
  }

  async #consoleQuery(): Promise<void> {
    const started = performance.now();
    let ok = false;
    try {
      const response = await fetch(`${this.stack.api.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.app.apiKey}` },
        body: JSON.stringify({
          query: 'query($a: ID!) { trials(appId: $a, first: 20) { edges { node { id segment } } } segments(appId: $a) { key trials } }',
          variables: { a: this.app.appId },
        }),
        signal: AbortSignal.timeout(10_000),
      });
      ok = response.ok && !((await response.json()) as { errors?: unknown }).errors;
    } catch {
      ok = false;
    }
    this.consoleQueries.push({ at: Date.now(), ms: performance.now() - started, ok });
  }

  #subscribe(): void {
    const client = createClient({
      url: `${this.stack.api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.app.apiKey}` },
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
    });
    this.#subscribers.push(client);
    client.subscribe(
      {
        query: 'subscription($a: ID!) { segmentChanged(appId: $a, segments: [found_value]) { trial { userId } } }',
        variables: { a: this.app.appId },
      },
      {
        next: (result) => {
          const userId = (result.data as { segmentChanged?: { trial?: { userId?: string } } })?.segmentChanged?.trial?.userId;
          const sentAt = userId ? this.ahaSentAt.get(userId) : undefined;
          if (sentAt !== undefined) this.toSubscription.push({ at: Date.now(), ms: Date.now() - sentAt });
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
  }

  /** Stops generating, then waits for every event still being sent to be acknowledged. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    await sleep(AHA_AFTER_MS + 100);
    while (this.#inFlight.size) await Promise.all([...this.#inFlight]);
    await Promise.all(this.#subscribers.map((client) => client.dispose()));
  }
}

/** Proportional set size (shared pages divided among their users) of each of a program's processes, summed, in MB. */
function memoryMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      kb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // Gone (a backend that ended): nothing to count.
    }
  }
  return Math.round(kb / 1024);
}

function pgrep(args: string[]): number[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every process of each program of the stack. */
function programs(stack: Stack): { api: number[]; worker: number[]; temporal: number[]; postgres: number[] } {
  const postmaster = Number(readFileSync(join(stack.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    api: [stack.api.pid!],
    worker: [stack.worker.pid!],
    temporal: pgrep(['-f', join(stack.dir, 'temporal.db')]),
    postgres: [postmaster, ...pgrep(['-P', String(postmaster)])],
  };
}

function signalAll(pids: number[], signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) process.kill(pid, signal);
}

/** One look at the stack: readiness, the webhook backlog as /metrics says, each program's memory. */
async function sample(stack: Stack) {
  const get = async (url: string) => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return { status: response.status, text: await response.text() };
    } catch {
      return { status: null, text: '' };
    }
  };
  const [ready, metrics] = await Promise.all([get(`${stack.api.url}/readyz`), get(`${stack.api.url}/metrics`)]);
  const gauge = (pattern: RegExp) => {
    const match = pattern.exec(metrics.text);
    return match ? Number(match[1]) : null;
  };
  const memory = Object.fromEntries(Object.entries(programs(stack)).map(([name, pids]) => [name, memoryMb(pids)]));
  return {
    at: Date.now(),
    ready: ready.status,
    oldestPendingSeconds: gauge(/^trialcast_webhook_oldest_pending_delivery_seconds (\S+)$/m),
    retrying: gauge(/^trialcast_webhook_deliveries_pending\{state="retrying"\} (\S+)$/m),
    failingEndpoints: gauge(/^trialcast_webhook_endpoints\{health="failing"\} (\S+)$/m),
    memoryMb: memory,
  };
}
type Sample = Awaited<ReturnType<typeof sample>>;

/** Samples every `intervalMs` until stopped. */
function sampling(stack: Stack, intervalMs: number) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    for (let next = Date.now(); running; next += intervalMs) {
      samples.push(await sample(stack));
      if (next + intervalMs > Date.now()) await sleep(next + intervalMs - Date.now());
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Waits until the phase's moves are all recorded and delivered (or SETTLE_MS), then counts what was lost. */
async function settle(stack: Stack, workload: Workload, seenBefore: Set<string>) {
  const db = new pg.Client({ connectionString: stack.postgres.url });
  await db.connect();
  const count = async (sql: string) => Number((await db.query(sql, [workload.app.appId])).rows[0].n);
  const started = Date.now();
  let state = { inFoundValue: 0, recorded: 0, received: 0 };
  while (Date.now() - started < SETTLE_MS) {
    state = {
      inFoundValue: await count(`select count(distinct trial_id) as n from segment_changes where app_id = $1 and new_segment = 'found_value'`),
      recorded: await count('select count(*) as n from segment_changes where app_id = $1'),
      received: [...stack.receiver.seen.keys()].filter((id) => !seenBefore.has(id)).length,
    };
    if (state.inFoundValue >= workload.ahaAcked.size && state.received >= state.recorded) break;
    await sleep(2000);
  }
  const stored = await count('select count(*) as n from events where app_id = $1');
  const gaps = await count(
    'select count(*) as n from (select trial_id from segment_changes where app_id = $1 group by trial_id having max(sequence) <> count(*)) g',
  );
  await db.end();
  const fresh = [...stack.receiver.seen].filter(([id]) => !seenBefore.has(id));
  const users = [...stack.receiver.sequences.keys()].filter((user) => user.startsWith(`${workload.prefix}-`));
  return {
    events: { acknowledged: workload.counts.sent, stored, tries: workload.counts.tries },
    usersWithAhaAcknowledged: workload.ahaAcked.size,
    usersInFoundValue: state.inFoundValue,
    trialsWithGaps: gaps,
    movesRecorded: state.recorded,
    webhooksReceived: state.received,
    duplicates: fresh.reduce((sum, [, times]) => sum + times - 1, 0),
    usersOutOfOrder: stack.receiver.outOfOrder().filter((user) => users.includes(user)).length,
    settledInSeconds: Math.round((Date.now() - started) / 1000),
    lost: {
      events: workload.counts.sent - stored,
      moves: workload.ahaAcked.size - state.inFoundValue + gaps,
      webhooks: state.recorded - state.received,
    },
  };
}

/** Ingest's answers between two times: by status, and the slowest. */
function answers(workload: Workload, from: number, to: number) {
  const during = workload.tries.filter((t) => t.at >= from && t.at < to);
  const byStatus: Record<string, number> = {};
  for (const t of during) byStatus[String(t.status ?? 'no answer')] = (byStatus[String(t.status ?? 'no answer')] ?? 0) + 1;
  return {
    byStatus,
    p99Ms: percentile(
      during.map((t) => t.ms),
      99,
    ),
  };
}

/** A fault phase: load, the fault while the load goes on, load again, then settle and count. */
async function faultPhase(name: string, description: string, faultMs: number, fault: { begin(stack: Stack): Promise<void>; end(stack: Stack): Promise<void> }) {
  const stack = await startStack();
  try {
    const app = await createApp(stack, name);
    const seenBefore = new Set(stack.receiver.seen.keys());
    const workload = new Workload(stack, app, name);
    const sampler = sampling(stack, faultMs >= 10 * 60_000 ? 30_000 : 5000);
    workload.start();
    await sleep(60_000);
    const faultStart = Date.now();
    await fault.begin(stack);
    await sleep(faultMs);
    await fault.end(stack);
    const faultEnd = Date.now();
    await sleep(60_000);
    await workload.stop();
    const counted = await settle(stack, workload, seenBefore);
    await sleep(10_000);
    await sampler.stop();
    const duringFault = sampler.samples.filter((s) => s.at >= faultStart && s.at <= faultEnd);
    return {
      phase: name,
      fault: description,
      faultSeconds: Math.round((faultEnd - faultStart) / 1000),
      ingestDuringFault: answers(workload, faultStart, faultEnd),
      ingestAfterFault: answers(workload, faultEnd, Date.now()),
      readyzDuringFault: [...new Set(duringFault.map((s) => s.ready))],
      readyzAtEnd: sampler.samples.at(-1)?.ready,
      maxOldestPendingSeconds: Math.max(0, ...sampler.samples.map((s) => s.oldestPendingSeconds ?? 0)),
      maxFailingEndpoints: Math.max(0, ...sampler.samples.map((s) => s.failingEndpoints ?? 0)),
      oldestPendingAtEnd: sampler.samples.at(-1)?.oldestPendingSeconds,
      consoleQueriesFailed: workload.consoleQueries.filter((q) => !q.ok).length,
      ...counted,
      samples: sampler.samples,
    };
  } finally {
    await stopStack(stack);
  }
}

/** Least-squares slope of (minute, value), in units an hour. */
function slopePerHour(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return Math.round((sxy / sxx) * 60 * 10) / 10;
}

async function soakPhase() {
  const stack = await startStack();
  try {
    const app = await createApp(stack, 'soak');
    const seenBefore = new Set(stack.receiver.seen.keys());
    const workload = new Workload(stack, app, 'soak');
    const db = new pg.Client({ connectionString: stack.postgres.url });
    await db.connect();
    const tables = async () =>
      Object.fromEntries(
        (
          await db.query<{ relname: string; rows: string; bytes: string }>(
            'select relname, n_live_tup as rows, pg_total_relation_size(relid) as bytes from pg_stat_user_tables order by relname',
          )
        ).rows.map((row) => [row.relname, { rows: Number(row.rows), mb: Math.round(Number(row.bytes) / 1e5) / 10 }]),
      );
    const started = Date.now();
    workload.start(4);
    const minutesSampled: Array<Sample & { minute: number; tables: Awaited<ReturnType<typeof tables>> }> = [];
    for (let minute = 1; Date.now() - started < SOAK_MS; minute++) {
      await sleep(Math.max(0, started + minute * 60_000 - Date.now()));
      minutesSampled.push({ ...(await sample(stack)), minute, tables: await tables() });
      const last = minutesSampled.at(-1)!;
      console.error(`soak minute ${minute}: ${JSON.stringify(last.memoryMb)} oldest pending ${last.oldestPendingSeconds}s`);
    }
    const ended = Date.now();
    await workload.stop();
    const counted = await settle(stack, workload, seenBefore);
    await db.end();
    const window = (from: number, to: number) => ({
      ingestP99Ms: percentile(
        workload.tries.filter((t) => t.at >= from && t.at < to && t.status === 200).map((t) => t.ms),
        99,
      ),
      eventToSubscriptionP99Ms: percentile(
        workload.toSubscription.filter((t) => t.at >= from && t.at < to).map((t) => t.ms),
        99,
      ),
      consoleQueryP99Ms: percentile(
        workload.consoleQueries.filter((t) => t.at >= from && t.at < to).map((t) => t.ms),
        99,
      ),
    });
    const tenMinutes = Math.min(10 * 60_000, SOAK_MS / 6);
    const warm = minutesSampled.filter((s) => s.minute * 60_000 > tenMinutes);
    return {
      phase: 'soak',
      minutes: Math.round((ended - started) / 60_000),
      load: { usersPerSecond: USERS_PER_SECOND, otherEventsPerSecond: OTHER_EVENTS_PER_SECOND, subscribers: 4, consoleQueriesPerSecond: 0.5 },
      firstTenMinutes: window(started, started + tenMinutes),
      lastTenMinutes: window(ended - tenMinutes, ended),
      memorySlopeMbPerHourAfterWarmUp: Object.fromEntries(
        Object.keys(warm[0]?.memoryMb ?? {}).map((name) => [name, slopePerHour(warm.map((s) => [s.minute, s.memoryMb[name]!]))]),
      ),
      memoryMbAfterWarmUp: Object.fromEntries(
        Object.keys(warm[0]?.memoryMb ?? {}).map((name) => [name, { first: warm[0]!.memoryMb[name], last: warm.at(-1)!.memoryMb[name] }]),
      ),
      tablesFirstAndLast: { first: minutesSampled[0]?.tables, last: minutesSampled.at(-1)?.tables },
      consoleQueriesFailed: workload.consoleQueries.filter((q) => !q.ok).length,
      ...counted,
      minutesSampled: minutesSampled.map(({ tables: _tables, ...rest }) => rest),
    };
  } finally {
    await stopStack(stack);
  }
}

const PHASES: Record<string, () => Promise<object>> = {
  soak: soakPhase,
  outage: () =>
    faultPhase('outage', `the receiver down for ${OUTAGE_MS / 60_000} minutes under steady moves`, OUTAGE_MS, {
      begin: (stack) => stack.receiver.down(),
      end: (stack) => stack.receiver.up(),
    }),
  'temporal-freeze': () =>
    faultPhase('temporal-freeze', `the Temporal server stopped (SIGSTOP) for ${FREEZE_MS / 1000} s, then continued`, FREEZE_MS, {
      begin: async (stack) => signalAll(programs(stack).temporal, 'SIGSTOP'),
      end: async (stack) => signalAll(programs(stack).temporal, 'SIGCONT'),
    }),
  'postgres-freeze': () =>
    faultPhase('postgres-freeze', `every PostgreSQL process stopped (SIGSTOP) for ${FREEZE_MS / 1000} s, then continued`, FREEZE_MS, {
      begin: async (stack) => signalAll(programs(stack).postgres, 'SIGSTOP'),
      end: async (stack) => signalAll(programs(stack).postgres, 'SIGCONT'),
    }),
  'pool-exhausted': () => {
    const held: pg.Client[] = [];
    return faultPhase('pool-exhausted', `another client holds every PostgreSQL connection, Trialcast's own closed, for ${FREEZE_MS / 1000} s`, FREEZE_MS, {
      async begin(stack) {
        // Every free slot (max_connections, less what Trialcast's pools hold), then Trialcast's own connections
        // closed by the server and their slots taken too: its pools must open new ones and cannot.
        const grab = async () => {
          for (;;) {
            const client = new pg.Client({ connectionString: stack.postgres.url, application_name: 'soak-exhauster' });
            try {
              await client.connect();
              held.push(client);
            } catch {
              return;
            }
          }
        };
        await grab();
        await held[0]!.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name <> 'soak-exhauster' and pid <> pg_backend_pid() and backend_type = 'client backend'",
        );
        await grab();
        console.error(`pool-exhausted: holding ${held.length} connections`);
      },
      async end() {
        await Promise.all(held.map((client) => client.end()));
      },
    });
  },
};

const only = process.env.SOAK_ONLY?.split(',') ?? Object.keys(PHASES);
const file = new URL('./soak-results.json', import.meta.url);
// Phases run one at a time keep the others' last figures.
const results: Array<{ phase: string }> = JSON.parse(await readFile(file, 'utf8').catch(() => '[]'));
for (const name of only) {
  const phase = PHASES[name];
  if (!phase) throw new Error(`no phase ${name}; phases: ${Object.keys(PHASES).join(', ')}`);
  console.error(`phase ${name}`);
  const result = await phase();
  const { samples: _samples, minutesSampled: _minutes, ...summary } = result as Record<string, unknown>;
  console.error(JSON.stringify(summary));
  results.splice(0, results.length, ...results.filter((r) => r.phase !== name), result as { phase: string });
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
}
process.exit(0);
