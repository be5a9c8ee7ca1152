/**
 * What one transition asks of the Temporal server, read from a workflow's history: from its last signal on (the
 * move the bench measures), the workflow tasks, history events, timers started and cancelled, local activities
 * (markers) and search-attribute upserts. Issue 31 compares the product's to the floor's.
 */
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export interface HistoryShape {
  events: number;
  workflowTasks: number;
  /** Workflow tasks that timed out: on a sticky queue, not picked up within its schedule-to-start timeout. */
  workflowTaskTimeouts: number;
  timersStarted: number;
  timersCancelled: number;
  localActivities: number;
  upserts: number;
}

export function shapeAfterLastSignal(history: temporal.api.history.v1.IHistoryEvent[]): HistoryShape {
  const lastSignal = history.findLastIndex((event) => event.workflowExecutionSignaledEventAttributes != null);
  const tail = history.slice(Math.max(0, lastSignal));
  const count = (has: (event: temporal.api.history.v1.IHistoryEvent) => unknown) => tail.filter((event) => has(event) != null).length;
  return {
    events: tail.length,
    workflowTasks: count((event) => event.workflowTaskCompletedEventAttributes),
    workflowTaskTimeouts: count((event) => event.workflowTaskTimedOutEventAttributes),
    timersStarted: count((event) => event.timerStartedEventAttributes),
    timersCancelled: count((event) => event.timerCanceledEventAttributes),
    localActivities: tail.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    upserts: count((event) => event.upsertWorkflowSearchAttributesEventAttributes),
  };
}

export const describeShape = (shape: HistoryShape) =>
  `${shape.events} history events, ${shape.workflowTasks} workflow tasks (${shape.workflowTaskTimeouts} timed out), ${shape.timersStarted} timers started, ${shape.timersCancelled} cancelled, ${shape.localActivities} local activities, ${shape.upserts} search-attribute upserts`;

/** The shape of one workflow's last transition, fetched from the server. */
export async function historyShape(address: string, workflowId: string): Promise<HistoryShape> {
  const connection = await Connection.connect({ address });
  try {
    const { events } = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    return shapeAfterLastSignal(events ?? []);
  } finally {
    await connection.close();
  }
}
