/**
 * The SDK's workflow sandbox as patched (patches/README.md): one deadlock watchdog per activation instead of one per
 * call into the sandbox, and promise stacks formatted when a query asks instead of as each promise is made. A workflow
 * that never yields is still stopped (its task fails with the SDK's own timeout error, the worker keeps running), a
 * healthy workflow's microtasks still run between the calls, and the stack trace queries answer as upstream's do.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { createLogger } from '../src/logger.ts';
import { installTemporalLogging } from '../src/temporal/sdk-logging.ts';
import { eventually } from './support/harness.ts';

const workflowsPath = fileURLToPath(new URL('./fixtures/sandbox/workflows.ts', import.meta.url));
const taskQueue = `sandbox-${randomBytes(4).toString('hex')}`;
const TIMEOUT_MS = 1000;

let client: Client;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  installTemporalLogging(createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
  const address = inject('temporalAddress');
  client = new Client({ connection: await Connection.connect({ address }) });
  // The SDK reads isolateExecutionTimeout (default 5 s) but leaves it out of its public options type.
  const options: WorkerOptions & { isolateExecutionTimeout: string } = {
    connection: await NativeConnection.connect({ address }),
    taskQueue,
    workflowsPath,
    isolateExecutionTimeout: `${TIMEOUT_MS} ms`,
  };
  worker = await Worker.create(options);
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
});

/** The first failed workflow task's message, once there is one. */
async function firstTaskFailure(workflowId: string): Promise<string> {
  return eventually(async () => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const failed = history.events?.find((event: temporal.api.history.v1.IHistoryEvent) => event.workflowTaskFailedEventAttributes);
    return failed?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
  }, 20_000);
}

describe('the workflow sandbox, patched', () => {
  it('is the patched SDK (the patch applied at install)', () => {
    const vmShared = createRequire(import.meta.url)('@temporalio/worker/lib/workflow/vm-shared.js');
    expect(typeof vmShared.callTimeout).toBe('function');
  });

  it.each(['stuckInHandler', 'stuckAfterCondition'])('stops %s, which never yields, with the SDK timeout error', async (workflowType) => {
    const workflowId = `${workflowType}-${randomBytes(4).toString('hex')}`;
    const handle = await client.workflow.start(workflowType, { taskQueue, workflowId });
    const started = Date.now();
    await handle.signal('go');
    expect(await firstTaskFailure(workflowId)).toMatch(`Script execution timed out after ${TIMEOUT_MS}ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(worker.getState()).toBe('RUNNING');
    await handle.terminate('test over');
  });

  it('answers the stack trace queries as upstream does: the workflow source line it is blocked on', async () => {
    const lines = (await readFile(workflowsPath, 'utf8')).split('\n');
    const index = lines.findIndex((text) => text.includes('// the line the stack traces name'));
    // Upstream names the frame by the source map's name at that position (`all`, of Promise.all), its column counted from 0.
    const at = { file_path: workflowsPath, function_name: 'all', line: index + 1, column: lines[index]!.indexOf('all(') };
    const handle = await client.workflow.start('blockedInAll', { taskQueue, workflowId: `blocked-${randomBytes(4).toString('hex')}` });
    const stackTrace = await eventually(async () => {
      const text: string = await handle.query('__stack_trace');
      return text.includes(workflowsPath) ? text : undefined;
    });
    expect(stackTrace).toBe(`    at ${at.function_name} (${at.file_path}:${at.line}:${at.column})`);
    const enhanced: { stacks: Array<{ locations: unknown[] }> } = await handle.query('__enhanced_stack_trace');
    expect(enhanced.stacks).toEqual([{ locations: [{ ...at, internal_code: false }] }]);
    await handle.terminate('test over');
  });

  it('runs a healthy workflow in the same worker with its microtasks in order', async () => {
    const handle = await client.workflow.start('healthy', { taskQueue, workflowId: `healthy-${randomBytes(4).toString('hex')}` });
    await handle.signal('go');
    expect(await handle.result()).toEqual(['signal', 'condition', 'ab', 'timer']);
    const history = await handle.fetchHistory();
    expect(history.events?.some((event) => event.workflowTaskFailedEventAttributes)).toBe(false);
  });
});
