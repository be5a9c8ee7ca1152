/**
 * `npm run drill`: fault drills against the real processes of `npm start`'s kind: an embedded
 * PostgreSQL, the Temporal dev server, one API and one worker process (test/drills/harness.ts
 * has the load and the counting). Writes test/drills/results.json; RELIABILITY.md reports the
 * figures. DRILL_USERS (default 150) and DRILL_ONLY (comma-separated drill names) adjust a run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/infra/net.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/infra/postgres.ts';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/infra/temporal.ts';
import { resolveTemporalExecutable } from '../../src/infra/temporal-cli.ts';
import { createLogger } from '../../src/logger.ts';
import { ADMIN, RecordingReceiver, report, runDrills, sleep, TrialcastProcess, type DrillResult } from './harness.ts';

const logger = createLogger('warn');

interface Stack {
  dir: string;
  postgres: RunningPostgres;
  postgresPort: number;
  temporal: TemporalDevServer;
  temporalPort: number;
  api: TrialcastProcess;
  worker: TrialcastProcess;
  receiver: RecordingReceiver;
}

async function startPostgres(dir: string, port: number) {
  return startEmbeddedPostgres({ dir: join(dir, 'pg'), database: 'trialcast', logger, port });
}
async function startTemporal(dir: string, port: number) {
  return startTemporalDevServer({
    executable: await resolveTemporalExecutable(() => undefined),
    port,
    dbFilename: join(dir, 'temporal.db'),
    namespace: 'default',
  });
}

async function startStack(): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'trialcast-drill-'));
  const postgresPort = await freePort();
  const temporalPort = await freePort();
  const apiPort = await freePort();
  const postgres = await startPostgres(dir, postgresPort);
  const temporal = await startTemporal(dir, temporalPort);
  const env = {
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'drill',
    ADMIN_TOKEN: ADMIN,
    PORT: String(apiPort),
    DATA_DIR: dir,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  };
  const api = new TrialcastProcess('api', env);
  await api.start();
  const worker = new TrialcastProcess('worker', env);
  await worker.start();
  const receiver = new RecordingReceiver(await freePort());
  await receiver.up();
  return { dir, postgres, postgresPort, temporal, temporalPort, api, worker, receiver };
}

async function main(): Promise<void> {
  const stack = await startStack();
  const drills: Array<[string, string, () => Promise<void>]> = [
    ['baseline', 'no fault (the control)', async () => undefined],
    [
      'worker-kill',
      'kill -9 the worker mid-load; a new worker starts 3 s later',
      async () => {
        stack.worker.kill9();
        await sleep(3000);
        await stack.worker.start();
      },
    ],
    [
      'api-kill',
      'kill -9 the API mid-ingest; restarted 3 s later on the same port (clients retry what was not acknowledged)',
      async () => {
        stack.api.kill9();
        await sleep(3000);
        await stack.api.start();
      },
    ],
    [
      'postgres-restart',
      'PostgreSQL stopped for 5 s and started again on the same port',
      async () => {
        await stack.postgres.stop();
        await sleep(5000);
        stack.postgres = await startPostgres(stack.dir, stack.postgresPort);
      },
    ],
    [
      'temporal-restart',
      'the Temporal dev server stopped for 5 s and started again (same port, same database file)',
      async () => {
        await stack.temporal.stop();
        await sleep(5000);
        stack.temporal = await startTemporal(stack.dir, stack.temporalPort);
      },
    ],
    [
      'receiver-down',
      'the webhook receiver down for 20 s, then up',
      async () => {
        await stack.receiver.down();
        await sleep(20_000);
        await stack.receiver.up();
      },
    ],
    [
      'receiver-flaky',
      'the receiver answers 500 or never answers (1 s timeout) 30 % of the time, for the whole drill',
      async () => {
        stack.receiver.flaky = 0.3;
      },
    ],
  ];
  let results: DrillResult[] = [];
  try {
    results = await runDrills({ apiUrls: [stack.api.url], databaseUrl: () => stack.postgres.url, receiver: stack.receiver }, drills);
  } finally {
    if (process.env.DRILL_KEEP) {
      // Leaves everything running for a look (Temporal at this address, PostgreSQL at this URL).
      console.error(`keeping the stack for ${process.env.DRILL_KEEP} s: temporal ${stack.temporal.address}, postgres ${stack.postgres.url}`);
      await sleep(Number(process.env.DRILL_KEEP) * 1000);
    }
    await stack.api.stop().catch(() => undefined);
    await stack.worker.stop().catch(() => undefined);
    await stack.receiver.down();
    await stack.temporal.stop().catch(() => undefined);
    await stack.postgres.stop().catch(() => undefined);
    await rm(stack.dir, { recursive: true, force: true });
  }
  const lost = await report(results, new URL('./results.json', import.meta.url));
  process.exit(lost ? 1 : 0);
}

await main();
