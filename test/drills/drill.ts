/**
 * `npm run drill`: fault drills against the real processes of `npm start`'s kind: an embedded
 * PostgreSQL, the Temporal dev server, one API and one worker process (test/drills/harness.ts
 * has the load and the counting). Writes test/drills/results.json; RELIABILITY.md reports the
 * figures. DRILL_USERS (default 150) and DRILL_ONLY (comma-separated drill names) adjust a run.
 */
import { report, runDrills, sleep, type DrillResult } from './harness.ts';
import { startPostgres, startStack, startTemporal, stopStack } from './stack.ts';

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
    await stopStack(stack);
  }
  const lost = await report(results, new URL('./results.json', import.meta.url));
  process.exit(lost ? 1 : 0);
}

await main();
