/**
 * Temporal Schedules the worker keeps: visible (and pausable, triggerable) in the Temporal UI.
 */
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';

export const pruneScheduleId = (taskQueue: string) => `prune-deliveries:${taskQueue}`;

/** Creates the hourly retention sweep once; an existing schedule is left as the operator set it. */
export async function ensureSchedules(temporal: Client, taskQueue: string): Promise<void> {
  try {
    await temporal.schedule.create({
      scheduleId: pruneScheduleId(taskQueue),
      spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: 'pruneDeliveries', taskQueue, args: [], workflowId: `prune-deliveries:${taskQueue}` },
      policies: { overlap: 'SKIP' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
}
