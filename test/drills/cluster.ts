/**
 * `npm run drill:cluster`: the deployment users grow into, run for real on this machine:
 * Debian's PostgreSQL server, a Temporal server with SQL persistence on it, two API processes
 * and two workers started at the same moment on the empty database; the load of the fault
 * drills (test/drills/harness.ts) sent through both API processes; then faults: one of two
 * workers killed, one of two API processes killed, PostgreSQL restarted, the Temporal server
 * restarted, and a rolling restart of every process under load. Last, what a second API
 * process and worker buy: the same burst through npm start's single process, one of each, then two of each.
 * Writes test/drills/cluster-results.json (and cluster-throughput.json); RELIABILITY.md reports the
 * figures. DRILL_ONLY names drills to run (`throughput` the last step), DRILL_USERS their size.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/infra/net.ts';
import { DebianPostgres, TemporalServer } from './cluster-infra.ts';
import { ADMIN, gql, RecordingReceiver, report, runDrills, sleep, TrialcastProcess, type DrillTarget } from './harness.ts';

const progress = (line: string) => console.error(`cluster: ${line}`);

interface Cluster {
  dir: string;
  postgres: DebianPostgres;
  temporal: TemporalServer;
  apis: TrialcastProcess[];
  workers: TrialcastProcess[];
  receiver: RecordingReceiver;
}

async function startCluster(): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'trialcast-cluster-'));
  const postgres = await DebianPostgres.create(dir, progress);
  progress(`PostgreSQL on port ${postgres.port}`);
  const temporal = await TemporalServer.create(dir, postgres, progress).catch(async (error: unknown) => {
    await postgres.stop();
    throw error;
  });
  progress(`Temporal server (SQL persistence) at ${temporal.address}`);
  const env = {
    DATABASE_URL: postgres.urlFor('trialcast'),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'drill',
    ADMIN_TOKEN: ADMIN,
    DATA_DIR: join(dir, 'trialcast'),
    SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  };
  const apis = [
    new TrialcastProcess('api', { ...env, PORT: String(await freePort()) }),
    new TrialcastProcess('api', { ...env, PORT: String(await freePort()) }),
  ];
  const workers = [new TrialcastProcess('worker', env), new TrialcastProcess('worker', env)];
  // All four at the same moment, on a database nothing has migrated yet.
  const started = Date.now();
  await Promise.all([...apis, ...workers].map((member) => member.start()));
  progress(`2 API processes and 2 workers came up together in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const receiver = new RecordingReceiver(await freePort());
  await receiver.up();
  return { dir, postgres, temporal, apis, workers, receiver };
}

const targetOf = (cluster: Cluster, apis = cluster.apis): DrillTarget => ({
  apiUrls: apis.map((api) => api.url),
  databaseUrl: () => cluster.postgres.urlFor('trialcast'),
  receiver: cluster.receiver,
});

/** Trial users' aha events as fast as the API processes take them; events, transitions and deliveries a second. */
async function burst(cluster: Cluster, apis: TrialcastProcess[], users: number, label: string) {
  const target = targetOf(cluster, apis);
  const { createApp } = await gql(target, 'mutation { createApp(input: {name: "burst"}) { app { id } writeKey apiKey } }', {});
  const { app, writeKey, apiKey } = createApp;
  await gql(
    target,
    'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }',
    { i: { appId: app.id, ahaEvents: ['Aha'], rateLimitPerSecond: 1_000_000 } },
    apiKey,
  );
  await gql(
    target,
    'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { errors { message } } }',
    { i: { appId: app.id, url: `http://127.0.0.1:${cluster.receiver.port}/burst` } },
    apiKey,
  );
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  const post = async (index: number, body: object) => {
    const response = await fetch(`${target.apiUrls[index % target.apiUrls.length]}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${label}: /v1/track answered ${response.status}`);
  };
  const db = new pg.Client({ connectionString: cluster.postgres.urlFor('trialcast') });
  await db.connect();
  const count = async (sql: string) => Number((await db.query(sql, [app.id])).rows[0].n);
  const before = cluster.receiver.seen.size;
  const started = Date.now();
  const send = async (make: (i: number) => object) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < users) {
          const i = next++;
          await post(i, make(i));
        }
      }),
    );
  };
  await send((i) => ({ userId: `${label}-${i}`, event: 'Trial Started', messageId: `${label}-start-${i}`, properties: { trial_end: '2099-01-01T00:00:00Z' } }));
  await send((i) => ({ userId: `${label}-${i}`, event: 'Aha', messageId: `${label}-aha-${i}` }));
  const acknowledgedSeconds = (Date.now() - started) / 1000;
  // Done when every user is in found_value (one or two transitions each: an aha that beats the
  // first decision makes it the first segment) and every transition's webhook has arrived.
  for (const until = Date.now() + 600_000; Date.now() < until; await sleep(250)) {
    const reached = await count(`select count(*) as n from trials where app_id = $1 and segment = 'found_value'`);
    const recorded = await count('select count(*) as n from segment_changes where app_id = $1');
    if (reached >= users && cluster.receiver.seen.size - before >= recorded) break;
  }
  const seconds = (Date.now() - started) / 1000;
  const transitions = await count('select count(*) as n from segment_changes where app_id = $1');
  await db.end();
  return {
    topology: label,
    events_per_s: Math.round((users * 2) / acknowledgedSeconds),
    transitions_per_s: Math.round(transitions / seconds),
    deliveries_per_s: Math.round((cluster.receiver.seen.size - before) / seconds),
    note: `${users} users × (Trial Started, Aha) through ${apis.length} API process(es), 20 clients; ${transitions} transitions and their webhooks in ${seconds.toFixed(1)} s`,
  };
}

async function restart(member: TrialcastProcess): Promise<void> {
  await member.stop();
  await member.start();
}

async function main(): Promise<void> {
  const cluster = await startCluster();
  const [api0, api1] = cluster.apis as [TrialcastProcess, TrialcastProcess];
  const [worker0] = cluster.workers as [TrialcastProcess, TrialcastProcess];
  const drills: Array<[string, string, () => Promise<void>]> = [
    ['baseline', 'no fault (the control), load through both API processes', async () => undefined],
    [
      'worker-kill',
      'kill -9 one of the two workers mid-load; the other carries on; the killed one restarts 10 s later',
      async () => {
        worker0.kill9();
        await sleep(10_000);
        await worker0.start();
      },
    ],
    [
      'api-kill',
      'kill -9 one of the two API processes mid-ingest; clients pass over it to the other; it restarts 10 s later',
      async () => {
        api0.kill9();
        await sleep(10_000);
        await api0.start();
      },
    ],
    [
      'postgres-restart',
      'the PostgreSQL server (Trialcast and Temporal on it) stopped for 5 s and started again',
      async () => {
        await cluster.postgres.stop();
        await sleep(5000);
        await cluster.postgres.start();
      },
    ],
    [
      'temporal-restart',
      'the Temporal server stopped (SIGTERM) for 5 s and started again on its SQL persistence',
      async () => {
        await cluster.temporal.stop();
        await sleep(5000);
        await cluster.temporal.start();
      },
    ],
    [
      'rolling-restart',
      'a deploy: every process stopped (SIGTERM, drained) and started again, one at a time, under load',
      async () => {
        for (const member of [...cluster.workers, ...cluster.apis]) await restart(member);
      },
    ],
  ];
  let lost = true;
  const throughput: Array<Awaited<ReturnType<typeof burst>>> = [];
  try {
    const results = await runDrills(targetOf(cluster), drills);
    lost = results.length > 0 && (await report(results, new URL('./cluster-results.json', import.meta.url)));
    if (!process.env.DRILL_ONLY || process.env.DRILL_ONLY.split(',').includes('throughput')) {
      const users = Number(process.env.CLUSTER_BURST_USERS ?? 500);
      // What npm start runs (API and worker in one process), on the same PostgreSQL and Temporal server;
      // then one API process and one worker; then all four.
      for (const member of [...cluster.apis, ...cluster.workers]) await member.stop();
      const single = new TrialcastProcess('all', { ...api0.env, PORT: String(await freePort()) });
      await single.start();
      throughput.push(await burst(cluster, [single], users, 'npm-start-one-process'));
      await single.stop();
      await Promise.all([api0.start(), cluster.workers[0]!.start()]);
      throughput.push(await burst(cluster, [api0], users, 'one-api-one-worker'));
      await Promise.all([api1.start(), cluster.workers[1]!.start()]);
      throughput.push(await burst(cluster, cluster.apis, users, 'two-apis-two-workers'));
      console.table(throughput);
      await writeFile(new URL('./cluster-throughput.json', import.meta.url), `${JSON.stringify(throughput, null, 2)}\n`);
    }
  } finally {
    for (const member of [...cluster.apis, ...cluster.workers]) await member.stop().catch(() => undefined);
    await cluster.receiver.down();
    await cluster.temporal.stop().catch(() => undefined);
    await cluster.postgres.stop().catch(() => undefined);
    await rm(cluster.dir, { recursive: true, force: true });
  }
  process.exit(lost ? 1 : 0);
}

await main();
