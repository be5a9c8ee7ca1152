/**
 * One Trialcast process of the bench, forked by bench/run.ts with its role (`api` or
 * `worker`) on the bench's PostgreSQL and Temporal: its CPU and memory are its own, apart
 * from the load generator's. Answers readings over IPC: `heap` (MB live after a full
 * collection) and `stop`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startRuntime, type Role } from '../src/runtime.ts';
import { installTemporalLogging } from '../src/temporal/sdk-logging.ts';

const role = process.argv[2] as Role;
const logger = createLogger('warn');
installTemporalLogging(logger);
const runtime = await startRuntime({
  role,
  config: {
    ...loadConfig({
      DATABASE_URL: process.env.DATABASE_URL,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      DATA_DIR: process.env.DATA_DIR,
      WORKFLOW_CACHE_SIZE: process.env.WORKFLOW_CACHE_SIZE,
    }),
    port: 0,
    adminToken: 'tca_bench',
    // The delivery bench's receiver is on loopback.
    webhookAllowPrivateTargets: true,
  },
  logger,
});

function liveHeapMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed / 1_048_576;
}

process.on('message', async (message) => {
  if (message === 'heap') process.send!({ heapMb: liveHeapMb() });
  if (message === 'stop') {
    await runtime.stop();
    process.exit(0);
  }
});
process.send!({ apiUrl: runtime.apiUrl });
