/**
 * The floor's worker, in a process of its own as the product's worker is (its CPU counted apart):
 * `node bench/floor/worker.ts` with TEMPORAL_ADDRESS, DATABASE_URL and RECEIVER_PORT; says
 * 'ready' over IPC, stops on 'stop'.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { createFloorActivities } from './activities.ts';
import { FLOOR_TASK_QUEUE } from './workflow.ts';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
const worker = await Worker.create({
  connection,
  taskQueue: FLOOR_TASK_QUEUE,
  workflowBundle: await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflow.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
  }),
  activities: createFloorActivities(pool, Number(process.env.RECEIVER_PORT)),
});
const running = worker.run();
process.send!('ready');
process.on('message', async (message) => {
  if (message !== 'stop') return;
  worker.shutdown();
  await running;
  await pool.end();
  await connection.close();
  process.exit(0);
});
