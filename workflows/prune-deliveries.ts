/**
 * The deliveries' maintenance, started hourly by the Temporal Schedule `prune-deliveries:<task queue>` (see
 * src/temporal/schedules.ts): makes the week partitions ahead and drops the weeks past their retention, in one
 * activity. Runs started before the partitions deleted finished deliveries a batch per activity, until a batch came
 * back short; they replay through that loop.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';

const { pruneDeliveries: maintain } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});

const BATCH = 5000;
/** One run did at most this many batches; the next hour's run took the rest. */
const MAX_BATCHES = 100;

export async function pruneDeliveries(): Promise<number> {
  if (patched('delivery-week-partitions')) return maintain();
  let deleted = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const count = await maintain();
    deleted += count;
    if (count < BATCH) break;
  }
  return deleted;
}
