/**
 * The retention sweep, started hourly by the Temporal Schedule `prune-deliveries:<task queue>`
 * (see src/temporal/schedules.ts): deletes finished deliveries past their retention, a batch
 * per activity, until a batch comes back short.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';

const { pruneDeliveries: pruneBatch } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});

const BATCH = 5000;
/** One run does at most this many batches; the next hour's run takes the rest. */
const MAX_BATCHES = 100;

export async function pruneDeliveries(): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const count = await pruneBatch();
    deleted += count;
    if (count < BATCH) break;
  }
  return deleted;
}
