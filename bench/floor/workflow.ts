/**
 * Temporal's floor for one transition: the structural work a trial's move needs and nothing of
 * the product's (bench/scenarios/floor.ts). One signal; one local activity with one INSERT; one
 * search-attribute upsert; one local activity with one HTTP POST to a loopback receiver. An entity
 * like a trial's workflow, it stays open after a move (a workflow closing is work of its own).
 * The same move can come as a workflow Update instead of a signal (`BENCH_ONLY=notice-paths`):
 * its handler only takes the notice, as the signal's does, and the move runs in the same task.
 */
import { condition, defineSignal, defineUpdate, proxyLocalActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createFloorActivities } from './activities.ts';

export const moveSignal = defineSignal<[string]>('move');
export const moveUpdate = defineUpdate<void, [string]>('moveByUpdate');
export const FLOOR_TASK_QUEUE = 'bench-floor';

const { recordMove, postMove } = proxyLocalActivities<ReturnType<typeof createFloorActivities>>({ startToCloseTimeout: '30 seconds' });

export async function floorTransition(): Promise<never> {
  let next: string | null = null;
  setHandler(moveSignal, (to) => void (next = to));
  setHandler(moveUpdate, (to) => void (next = to));
  for (;;) {
    await condition(() => next !== null);
    const segment = next!;
    next = null;
    const occurredAt = new Date().toISOString();
    await recordMove(workflowInfo().workflowId, segment, occurredAt);
    upsertSearchAttributes({ TrialcastSegment: [segment] });
    await postMove(workflowInfo().workflowId, segment, occurredAt);
  }
}
