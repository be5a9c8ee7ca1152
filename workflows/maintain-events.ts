/**
 * The events' maintenance, started hourly by the Temporal Schedule `maintain-events:<task queue>` (see
 * src/temporal/schedules.ts): month partitions created ahead, closed events rolled up by day, and partitions past
 * EVENT_RETENTION dropped whole (src/modules/ingest/event-partitions.ts). One activity: each step is idempotent.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';

const { maintainEvents: maintain } = proxyActivities<ReturnType<typeof createActivities>>({
  // Creating a month that the default partition holds rows for moves them: minutes on a large install.
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes' },
});

export async function maintainEvents(): Promise<{ created: string[]; rolledUp: number; dropped: string[] }> {
  return maintain();
}
