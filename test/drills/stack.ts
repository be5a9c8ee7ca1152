/**
 * The embedded stack the drills run against (`npm run drill`, `npm run soak`): an embedded PostgreSQL, the Temporal
 * dev server (a SQLite file), one API and one worker process, and the recording receiver; each on a port of its
 * own, so a fault can stop and start it on the same one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/infra/net.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/infra/postgres.ts';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/infra/temporal.ts';
import { resolveTemporalExecutable } from '../../src/infra/temporal-cli.ts';
import { createLogger } from '../../src/logger.ts';
import { ADMIN, RecordingReceiver, TrialcastProcess } from './harness.ts';

const logger = createLogger('warn');

export interface Stack {
  dir: string;
  postgres: RunningPostgres;
  postgresPort: number;
  temporal: TemporalDevServer;
  temporalPort: number;
  api: TrialcastProcess;
  worker: TrialcastProcess;
  receiver: RecordingReceiver;
}

export async function startPostgres(dir: string, port: number) {
  return startEmbeddedPostgres({ dir: join(dir, 'pg'), database: 'trialcast', logger, port });
}
export async function startTemporal(dir: string, port: number) {
  return startTemporalDevServer({
    executable: await resolveTemporalExecutable(() => undefined),
    port,
    dbFilename: join(dir, 'temporal.db'),
    namespace: 'default',
  });
}

export async function startStack(): Promise<Stack> {
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
    WORKER_METRICS_PORT: String(await freePort()),
  };
  const api = new TrialcastProcess('api', env);
  await api.start();
  const worker = new TrialcastProcess('worker', env);
  await worker.start();
  const receiver = new RecordingReceiver(await freePort());
  await receiver.up();
  return { dir, postgres, postgresPort, temporal, temporalPort, api, worker, receiver };
}

export async function stopStack(stack: Stack): Promise<void> {
  await stack.api.stop().catch(() => undefined);
  await stack.worker.stop().catch(() => undefined);
  await stack.receiver.down();
  await stack.temporal.stop().catch(() => undefined);
  await stack.postgres.stop().catch(() => undefined);
  await rm(stack.dir, { recursive: true, force: true });
}
