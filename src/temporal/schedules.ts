/**
 * Temporal Schedules the worker keeps: visible (and pausable, triggerable) in the Temporal UI.
 */
import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';

export const pruneScheduleId = (taskQueue: string) => `prune-deliveries:${taskQueue}`;
export const maintainEventsScheduleId = (taskQueue: string) => `maintain-events:${taskQueue}`;

/** Creates each hourly schedule once (the deliveries' retention sweep, the events' maintenance); an existing one is left as the operator set it. */
export async function ensureSchedules(temporal: Client, taskQueue: string): Promise<void> {
  const hourly = [
    [pruneScheduleId(taskQueue), 'pruneDeliveries'],
    [maintainEventsScheduleId(taskQueue), 'maintainEvents'],
  ] as const;
  for (const [scheduleId, workflowType] of hourly) {
    try {
      await temporal.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1 hour' }] },
        action: { type: 'startWorkflow', workflowType, taskQueue, args: [], workflowId: scheduleId },
        policies: { overlap: 'SKIP' },
      });
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    }
  }
}
