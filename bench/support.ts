/** What the bench scenarios share: the product's processes, the load generator, baselines, percentiles, a pool, apps, CPU and memory readings, IPC. */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { graphqlRequest } from '../test/support/graphql-client.ts';

export interface Result {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  note?: string;
}

export const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
export const CONNECTIONS = 50;

export async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) =>
    autocannon({ duration: DURATION_S, connections: CONNECTIONS, ...options }, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** A baseline: `handler` served on loopback in this process (beside the load generator), loaded at `path`. */
export async function loadInProcess(handler: RequestListener, path: string, options: Omit<autocannon.Options, 'url'>): Promise<autocannon.Result> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await load({ url: `http://127.0.0.1:${port}${path}`, ...options });
  } finally {
    server.close();
  }
}

/** The floor of what any Node HTTP handler can do here: a bare server answering JSON. */
export async function bareNodeRequestsPerSecond(body: string): Promise<number> {
  const handler: RequestListener = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };
  return (await loadInProcess(handler, '/', { method: 'POST', body: '{}' })).requests.average;
}

/** The tests' GraphQL client, answering data as the scenarios read it. */
export async function graphql(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<{ data: any }> {
  return (await graphqlRequest<any>(url, query, variables, token)) as { data: any };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!) : Number.NaN;
}

/** The p95 of `runs` timed calls after one untimed warm-up, in ms. */
export async function p95(run: () => Promise<unknown>, runs = 30): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return percentile(times, 95);
}

export async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function newApp(url: string, settings: Record<string, unknown>) {
  const created = await graphql(url, 'tca_bench', 'mutation { createApp(input: {name: "bench"}) { app { id } apiKey writeKey } }', {});
  const app = created.data.createApp;
  const updated = await graphql(url, app.apiKey, 'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }', {
    i: { appId: app.app.id, ...settings },
  });
  if (updated.data.updateSegmentSettings.errors.length) throw new Error(JSON.stringify(updated.data.updateSegmentSettings.errors));
  return { appId: app.app.id as string, apiKey: app.apiKey as string, writeKey: app.writeKey as string };
}

/** Trialcast as the bench runs it: an API process and a worker process (bench/product.ts), as a deployment runs them. */
export interface Product {
  url: string;
  databaseUrl: string;
  temporalAddress: string;
  api: ChildProcess;
  worker: ChildProcess;
  /** The product's processes by pid, for cpuSecondsByProgram. */
  labels: Map<number, string>;
  /** The worker's resident memory once it runs, before any load. */
  workerIdleRssMb: number;
  stop(): Promise<void>;
}

export async function startProduct(env: { DATABASE_URL: string; TEMPORAL_ADDRESS: string; DATA_DIR: string }): Promise<Product> {
  const start = async (role: 'api' | 'worker') => {
    // BENCH_CPU_PROF=<dir>: each product process writes V8 CPU profiles (one per thread) in <dir>/<role> when it stops.
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}/${role}`] : [];
    const child = fork(new URL('./product.ts', import.meta.url), [role], {
      env: { ...process.env, ...env },
      execArgv: [...process.execArgv, ...profile],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await Promise.race([
      nextMessage<{ apiUrl: string | null }>(child, `${role} start`),
      once(child, 'exit').then(([code]) => Promise.reject(new Error(`the bench's ${role} process exited with ${code} at start`))),
    ]);
    return { child, apiUrl: ready.apiUrl };
  };
  // The worker first: it migrates a fresh database before the API serves.
  const worker = await start('worker');
  const api = await start('api');
  return {
    url: api.apiUrl!,
    databaseUrl: env.DATABASE_URL,
    temporalAddress: env.TEMPORAL_ADDRESS,
    api: api.child,
    worker: worker.child,
    labels: new Map([
      [api.child.pid!, 'api'],
      [worker.child.pid!, 'worker'],
    ]),
    workerIdleRssMb: residentMb(worker.child.pid!),
    async stop() {
      await Promise.all(
        [api.child, worker.child].map(async (child) => {
          if (child.exitCode !== null) return;
          const exited = once(child, 'exit');
          child.send('stop');
          await exited;
        }),
      );
    },
  };
}

/** A product process's heap after a full collection, so before/after readings compare live objects only. */
export async function liveHeapMb(child: ChildProcess): Promise<number> {
  return (await ask<{ heapMb: number }>(child, 'heap')).heapMb;
}

/** A process's resident memory, from /proc. */
export function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

let ticksPerSecond: number | undefined;

/**
 * CPU seconds (user + system) used so far by this process and its descendants, live or exited,
 * summed by program (the Temporal dev server, PostgreSQL backends, …); `labels` names
 * processes by pid (the product's api and worker); this one is the "load generator".
 */
export function cpuSecondsByProgram(labels: Map<number, string>): Map<string, number> {
  const ticks = (ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })));
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // Fields after the command: state, ppid, …, utime, stime, and the same of its children
        // that have exited (PostgreSQL's backends come and go with the connection pool).
        const fields = stat
          .slice(stat.lastIndexOf(')') + 2)
          .split(' ')
          .map(Number);
        return [{ pid: Number(pid), comm, ppid: fields[1]!, seconds: (fields[11]! + fields[12]! + fields[13]! + fields[14]!) / ticks }];
      } catch {
        return []; // exited meanwhile
      }
    });
  const ours = new Set([process.pid]);
  for (let grew = true; grew;) {
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
    const program = pid === process.pid ? 'load generator' : (labels.get(pid) ?? comm);
    byProgram.set(program, (byProgram.get(program) ?? 0) + seconds);
  }
  return byProgram;
}

/** CPU seconds each program spent since the reading `before` (cpuSecondsByProgram's). */
export function cpuSince(labels: Map<number, string>, before: Map<string, number>): Array<{ program: string; seconds: number }> {
  return [...cpuSecondsByProgram(labels)].map(([program, seconds]) => ({ program, seconds: seconds - (before.get(program) ?? 0) }));
}

/**
 * `work`'s CPU by program (cpuSecondsByProgram's programs), in microseconds per unit of what
 * it did (requests, events), formatted for a note: "api 140, postgres 60, …; load generator 40".
 */
export async function cpuPerUnit<T>(labels: Map<number, string>, work: () => Promise<T>, units: (result: T) => number): Promise<{ result: T; cpu: string }> {
  const before = cpuSecondsByProgram(labels);
  const result = await work();
  const spent = cpuSince(labels, before);
  const count = units(result);
  const perUnit = spent
    .map(({ program, seconds }) => ({ program, us: Math.round((seconds * 1e6) / count) }))
    .filter(({ us }) => us > 0)
    .sort((x, y) => Number(x.program === 'load generator') - Number(y.program === 'load generator') || y.us - x.us);
  return { result, cpu: perUnit.map(({ program, us }) => `${program} ${us}`).join(', ') };
}

/** The child's next message, or an error naming what was awaited after a minute. */
export async function nextMessage<T>(child: ChildProcess, awaiting: string): Promise<T> {
  const [answer] = (await once(child, 'message', { signal: AbortSignal.timeout(60_000) }).catch(() => {
    throw new Error(`no ${awaiting} from the child process within a minute`);
  })) as [T];
  return answer;
}

/** One request/answer over a child's IPC channel. */
export async function ask<T>(child: ChildProcess, message: string): Promise<T> {
  child.send(message);
  return nextMessage<T>(child, message);
}

/** A rate limit high enough that the bench measures the ingest path, not the limiter. */
export const UNLIMITED = { rateLimitPerSecond: 1_000_000 };

/** The accounts a bench user belongs to (three each, shared by about three users). */
export const ACCOUNTS_PER_USER = 3;
export const accountsOf = (user: number) => Array.from({ length: ACCOUNTS_PER_USER }, (_, k) => `acct-${(Math.floor(user / 3) + k * 577) % 1667}`);

/** Track messages with unique ids, each naming one of its user's accounts in `context.groupId` (Segment's B2B spec). */
export function groupTrackMessages(prefix: string, count: number, at: number) {
  return trackMessages(prefix, count, at).map((message, i) => {
    const user = (at * count + i) % 5000;
    return { ...message, context: { groupId: accountsOf(user)[(at + i) % ACCOUNTS_PER_USER] } };
  });
}

/** Track messages with unique ids, so none is deduplicated away, from 5,000 users (`users` names them). */
export function trackMessages(prefix: string, count: number, at: number, users = 'ingest-user') {
  return Array.from({ length: count }, (_, i) => ({
    type: 'track',
    messageId: `${prefix}-${at}-${i}`,
    userId: `${users}-${(at * count + i) % 5000}`,
    event: 'Report Viewed',
    properties: { report: 'weekly', rows: i },
    timestamp: new Date().toISOString(),
  }));
}

/**
 * What each program spends with no load offered, in CPU ms a second over `ms`: the background that
 * every figure per transition or request also carries (timers, pollers, autovacuum), shown beside them.
 */
export async function idleCpu(labels: Map<number, string>, ms = 3000): Promise<string> {
  const before = cpuSecondsByProgram(labels);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return cpuSince(labels, before)
    .map(({ program, seconds }) => ({ program, perSecond: (seconds * 1e6) / ms }))
    .filter(({ perSecond }) => perSecond >= 1)
    .sort((a, b) => b.perSecond - a.perSecond)
    .map(({ program, perSecond }) => `${program} ${perSecond.toFixed(0)}`)
    .join(', ');
}

/**
 * Waits until `program` spends less than `msPerSecond` of CPU a second (sampled each second, up to `timeoutMs`): a
 * backlog it was working through (workflows' first tasks after their starts) is done.
 */
export async function waitForQuiet(labels: Map<number, string>, program: string, msPerSecond = 50, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = cpuSecondsByProgram(labels).get(program) ?? 0;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = cpuSecondsByProgram(labels).get(program) ?? 0;
    if ((now - last) * 1000 < msPerSecond) return;
    last = now;
  }
  throw new Error(`${program} did not go quiet within ${timeoutMs / 1000} s`);
}
