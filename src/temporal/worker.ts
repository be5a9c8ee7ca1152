import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from '../logger.ts';
import { WORKFLOW_TRACING_INTERCEPTORS, type Tracing } from '../infra/tracing.ts';
import { createActivities, type ActivityDependencies } from './activities.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Bundled once per process (or once per test run, then passed in); with tracing, with the workflow side of its interceptors. */
export async function bundleWorkflows({ tracing = false } = {}): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger, workflowInterceptorModules: tracing ? [WORKFLOW_TRACING_INTERCEPTORS] : [] });
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface WorkerOptions extends ActivityDependencies {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  logger: Logger;
  workflowBundle?: WorkflowBundleWithSourceMap | { codePath: string };
  /** OpenTelemetry's interceptors and workflow span sink (a bundle made with `tracing`), when tracing is on. */
  tracing?: Tracing | null;
  /** Workflows kept in memory (WORKFLOW_CACHE_SIZE); the SDK's default follows the heap size instead. */
  workflowCacheSize: number;
}

/**
 * How long a workflow task waits on this worker's sticky queue (where its workflows are cached) before the server
 * gives it to any worker with the whole history. The SDK's 10 s was reached under a burst (1,500 aha events at 200/s
 * against ~55 moves/s here: about half the moves waited longer), and each timed-out task then cost the server a
 * timeout, a task rescheduled and a full history sent, and the worker a replay: dearer moves, so a longer queue.
 * A worker that stops says so, and its tasks go elsewhere at once; one that crashes leaves the tasks already on its
 * sticky queue waiting up to this long (the server sends new ones elsewhere once the queue has had no poller for 10 s).
 */
const STICKY_QUEUE_SCHEDULE_TO_START = '30 seconds';

export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflows({ tracing: Boolean(options.tracing) })),
    activities: createActivities(options),
    maxCachedWorkflows: options.workflowCacheSize,
    stickyQueueScheduleToStartTimeout: STICKY_QUEUE_SCHEDULE_TO_START,
    shutdownGraceTime: '10 seconds',
    ...(options.tracing ? { interceptors: { activity: options.tracing.activityInterceptors }, sinks: options.tracing.sinks } : {}),
  });
  const done = worker.run();
  done.catch((error: unknown) => options.logger.error({ err: error }, 'Temporal worker stopped with an error'));
  options.logger.info({ taskQueue: options.taskQueue }, 'Temporal worker running');
  return {
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => undefined);
    },
  };
}
