/**
 * What the fault drills share (`npm run drill` on the embedded stack, `npm run drill:cluster`
 * on the deployment topology): Trialcast processes restartable on their port, the recording
 * webhook receiver, the load (trial users who start a trial, then reach their aha event: two
 * transitions and two webhooks each) sent through every API process like a Segment library
 * behind a load balancer, and the counting afterwards: events sent, acknowledged and stored;
 * transitions expected and recorded; deliveries expected and received (by webhook-id;
 * duplicates must share one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import pg from 'pg';

export const USERS = Number(process.env.DRILL_USERS ?? 150);
const EVENTS_PER_SECOND = Number(process.env.DRILL_EVENTS_PER_SECOND ?? 40);
const SETTLE_MS = 120_000;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
export const ADMIN = 'tca_drill_admin';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Trialcast process (`all`, `api` or `worker`), restartable on the same port. */
export class TrialcastProcess {
  child: ChildProcess | null = null;
  readonly role: 'all' | 'api' | 'worker';
  readonly env: Record<string, string>;
  constructor(role: 'all' | 'api' | 'worker', env: Record<string, string>) {
    this.role = role;
    this.env = env;
  }

  get url(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [MAIN, this.role], { env: { ...process.env, LOG_LEVEL: 'info', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    let ready = false;
    // The "trialcast ready" line is logged at info; the rest of the output is kept only until then.
    const keep = (chunk: Buffer) => {
      if (!ready) output = (output + chunk.toString()).slice(-20_000);
    };
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        keep(chunk);
        if (!ready && output.includes('"trialcast ready"')) {
          ready = true;
          resolve();
        }
      });
      child.stderr!.on('data', keep);
      child.once('exit', (code) => reject(new Error(`${this.role} exited with ${code} before ready: ${output.slice(-2000)}`)));
    });
  }

  kill9(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.child = null;
  }
}

/** The webhook receiver: records every request by webhook-id (and each user's sequence numbers in arrival order); can go down or turn flaky. */
export class RecordingReceiver {
  readonly seen = new Map<string, number>();
  /** user_id → the sequence numbers of the webhooks first received for them, in arrival order. */
  readonly sequences = new Map<string, number[]>();
  flaky = 0;
  #server: Server | null = null;
  readonly port: number;
  constructor(port: number) {
    this.port = port;
  }

  async up(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        if (Math.random() < this.flaky) {
          // Half the failures are 500s, half never answer (the endpoint's timeout ends them).
          if (Math.random() < 0.5) res.writeHead(500).end();
          return;
        }
        if (!this.seen.has(id)) this.#noteSequence(Buffer.concat(chunks));
        this.seen.set(id, (this.seen.get(id) ?? 0) + 1);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
  }

  #noteSequence(body: Buffer): void {
    try {
      const { sequence, trial } = JSON.parse(body.toString()) as { sequence?: number; trial?: { user_id?: string } };
      if (typeof sequence !== 'number' || !trial?.user_id) return;
      const seen = this.sequences.get(trial.user_id) ?? [];
      seen.push(sequence);
      this.sequences.set(trial.user_id, seen);
    } catch {
      // Not a segment change (a test webhook): no order to keep.
    }
  }

  /** Users whose webhooks arrived out of their sequence order. */
  outOfOrder(): string[] {
    return [...this.sequences].filter(([, seen]) => seen.some((sequence, i) => i > 0 && sequence < seen[i - 1]!)).map(([user]) => user);
  }

  async down(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    this.#server = null;
  }
}

/** What a drill runs against: the API processes (load goes to each in turn), the database and the receiver. */
export interface DrillTarget {
  apiUrls: string[];
  databaseUrl: () => string;
  receiver: RecordingReceiver;
}

export async function gql(target: DrillTarget, query: string, variables: object, token = ADMIN): Promise<any> {
  const response = await fetch(`${target.apiUrls[0]}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Each try of an event: its answer's status (null: no answer) and how long it took. */
export type TryObserver = (status: number | null, ms: number) => void;

/**
 * Sends one event until it is acknowledged, as a Segment library does (same messageId on every
 * try), through the API processes in turn from `first`, as a load balancer would, passing over
 * one that refuses the connection.
 */
export async function sendUntilAcknowledged(
  target: Pick<DrillTarget, 'apiUrls'>,
  first: number,
  writeKey: string,
  message: object,
  counts: { sent: number; tries: number },
  observe: TryObserver = () => undefined,
): Promise<void> {
  counts.sent += 1;
  for (let attempt = 0, delay = 100; ; attempt++, delay = Math.min(delay * 2, 2000)) {
    counts.tries += 1;
    const started = performance.now();
    try {
      const response = await fetch(`${target.apiUrls[(first + attempt) % target.apiUrls.length]}/v1/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      observe(response.status, performance.now() - started);
      if (response.ok) return;
    } catch {
      // Not acknowledged (connection refused, reset, timed out): try again.
      observe(null, performance.now() - started);
    }
    await sleep(delay);
  }
}

export interface DrillResult {
  drill: string;
  fault: string;
  events: { sent: number; acknowledged: number; stored: number; tries: number };
  transitions: { expected: string; recorded: number; usersInFoundValue: number; trialsWithGaps: number };
  deliveries: { expected: number; received: number; duplicates: number };
  lost: { events: number; transitions: number; deliveries: number };
  settledInSeconds: number;
}

export async function runDrill(target: DrillTarget, name: string, fault: { description: string; inject: () => Promise<void> }): Promise<DrillResult> {
  const created = await gql(target, 'mutation { createApp(input: {name: "drill"}) { app { id } writeKey apiKey } }', {});
  const { app, writeKey, apiKey } = created.createApp;
  await gql(
    target,
    'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }',
    { i: { appId: app.id, ahaEvents: ['Aha'] } },
    apiKey,
  );
  await gql(
    target,
    'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { errors { message } } }',
    {
      i: {
        appId: app.id,
        url: `http://127.0.0.1:${target.receiver.port}/hooks`,
        timeoutMs: 1000,
        retrySchedule: ['PT0S', 'PT1S', 'PT2S', 'PT5S', 'PT5S', 'PT10S', 'PT10S', 'PT15S', 'PT15S', 'PT30S', 'PT30S', 'PT30S'],
      },
    },
    apiKey,
  );
  const before = new Set(target.receiver.seen.keys());
  const counts = { sent: 0, tries: 0 };
  const messages = [
    ...Array.from({ length: USERS }, (_, i) => ({
      userId: `${name}-${i}`,
      event: 'Trial Started',
      messageId: `${name}-start-${i}`,
      properties: { trial_end: '2099-01-01T00:00:00Z' },
    })),
    ...Array.from({ length: USERS }, (_, i) => ({ userId: `${name}-${i}`, event: 'Aha', messageId: `${name}-aha-${i}` })),
  ];
  const inFlight: Array<Promise<void>> = [];
  const started = Date.now();
  const faultAt = started + (messages.length / EVENTS_PER_SECOND) * 300; // about 30 % into the load
  let faulted: Promise<void> | null = null;
  for (let i = 0; i < messages.length; i++) {
    if (i === USERS) await sleep(3000); // let the trials start before their aha events arrive
    const due = started + (i / EVENTS_PER_SECOND) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    if (!faulted && Date.now() >= faultAt) faulted = fault.inject();
    inFlight.push(sendUntilAcknowledged(target, i, writeKey, messages[i]!, counts));
  }
  await Promise.all(inFlight);
  await faulted;

  // The model: every user ends in found_value, by way of exploring unless their aha event
  // reached the workflow before its first evaluation (then found_value is their first
  // segment). Each recorded transition is one webhook (trial.segment_changed).
  const db = new pg.Client({ connectionString: target.databaseUrl() });
  await db.connect();
  const count = async (sql: string) => Number((await db.query(sql, [app.id])).rows[0].n);
  const reachedAha = () => count(`select count(distinct trial_id) as n from segment_changes where app_id = $1 and new_segment = 'found_value'`);
  const deadline = Date.now() + SETTLE_MS;
  let recorded = 0;
  let received = 0;
  let reached = 0;
  while (Date.now() < deadline) {
    reached = await reachedAha();
    recorded = await count('select count(*) as n from segment_changes where app_id = $1');
    received = [...target.receiver.seen.keys()].filter((id) => !before.has(id)).length;
    if (reached >= USERS && received >= recorded) break;
    await sleep(500);
  }
  const stored = await count('select count(*) as n from events where app_id = $1');
  // Sequence numbers without gaps: a trial's highest sequence is its number of changes.
  const gaps = await count(
    'select count(*) as n from (select trial_id from segment_changes where app_id = $1 group by trial_id having max(sequence) <> count(*)) g',
  );
  if (reached < USERS) {
    // What a lost transition looks like, for whoever fixes it.
    const { rows } = await db.query(
      `select t.user_id, t.segment, t.aha_reached_at, t.last_activity_at, t.workflow_id,
              (select string_agg(sequence || ':' || new_segment || ':' || reason, ' ' order by sequence) from segment_changes c where c.trial_id = t.id) as changes,
              (select count(*) from events e where e.app_id = t.app_id and e.user_id = t.user_id and e.event = 'Aha') as aha_events
       from trials t where t.app_id = $1 and not exists (select 1 from segment_changes c where c.trial_id = t.id and c.new_segment = 'found_value') limit 10`,
      [app.id],
    );
    console.error(`${name}: users not in found_value:`, JSON.stringify(rows));
  }
  await db.end();
  const fresh = [...target.receiver.seen].filter(([id]) => !before.has(id));
  const duplicates = fresh.reduce((sum, [, times]) => sum + times - 1, 0);
  return {
    drill: name,
    fault: fault.description,
    events: { sent: counts.sent, acknowledged: counts.sent, stored, tries: counts.tries },
    transitions: { expected: `every one of ${USERS} users in found_value, sequences without gaps`, recorded, usersInFoundValue: reached, trialsWithGaps: gaps },
    deliveries: { expected: recorded, received, duplicates },
    lost: { events: counts.sent - stored, transitions: USERS - reached + gaps, deliveries: recorded - received },
    settledInSeconds: Math.round((Date.now() - started) / 1000),
  };
}

/** The drills' table on stdout and their figures in a JSON file; true when anything was lost. */
export async function report(results: DrillResult[], file: URL): Promise<boolean> {
  console.table(
    results.map((r) => ({
      drill: r.drill,
      sent: r.events.sent,
      stored: r.events.stored,
      in_found_value: `${r.transitions.usersInFoundValue}/${USERS}`,
      transitions: r.transitions.recorded,
      deliveries: `${r.deliveries.received}/${r.deliveries.expected}`,
      duplicates: r.deliveries.duplicates,
      settled_s: r.settledInSeconds,
    })),
  );
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return results.some((r) => r.lost.events > 0 || r.lost.transitions > 0 || r.lost.deliveries > 0);
}

/** Runs the drills named in DRILL_ONLY (all when unset), each after the one before has settled. */
export async function runDrills(target: DrillTarget, drills: Array<[string, string, () => Promise<void>]>): Promise<DrillResult[]> {
  const only = process.env.DRILL_ONLY?.split(',');
  const results: DrillResult[] = [];
  for (const [name, description, inject] of drills) {
    if (only && !only.includes(name)) continue;
    console.error(`drill ${name}: ${description}`);
    const result = await runDrill(target, name, { description, inject });
    target.receiver.flaky = 0;
    console.error(JSON.stringify(result));
    results.push(result);
  }
  return results;
}
