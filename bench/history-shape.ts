/**
 * What one transition asks of the Temporal server, read from a workflow's history: from its last signal (or
 * Update) on (the move the bench measures), the workflow tasks, history events, timers started and cancelled, local activities
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
  /** Notices that came as workflow Updates (accepted in the history). */
  updates: number;
}

export function shapeOfLastMove(history: temporal.api.history.v1.IHistoryEvent[]): HistoryShape {
  const lastSignal = history.findLastIndex((event) => event.workflowExecutionSignaledEventAttributes != null);
  // A notice sent as an Update is in the history from the workflow task that accepted it: from that task's scheduling on.
  const lastUpdate = history.findLastIndex((event) => event.workflowExecutionUpdateAcceptedEventAttributes != null);
  const updateTask = history.findLastIndex((event, index) => index < lastUpdate && event.workflowTaskScheduledEventAttributes != null);
  const tail = history.slice(Math.max(0, lastSignal, updateTask));
  const count = (has: (event: temporal.api.history.v1.IHistoryEvent) => unknown) => tail.filter((event) => has(event) != null).length;
  return {
    events: tail.length,
    workflowTasks: count((event) => event.workflowTaskCompletedEventAttributes),
    workflowTaskTimeouts: count((event) => event.workflowTaskTimedOutEventAttributes),
    timersStarted: count((event) => event.timerStartedEventAttributes),
    timersCancelled: count((event) => event.timerCanceledEventAttributes),
    localActivities: tail.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    upserts: count((event) => event.upsertWorkflowSearchAttributesEventAttributes),
    updates: count((event) => event.workflowExecutionUpdateAcceptedEventAttributes),
  };
}

export const describeShape = (shape: HistoryShape) =>
  `${shape.events} history events, ${shape.workflowTasks} workflow tasks (${shape.workflowTaskTimeouts} timed out), ${shape.timersStarted} timers started, ${shape.timersCancelled} cancelled, ${shape.localActivities} local activities, ${shape.upserts} search-attribute upserts${shape.updates ? `, ${shape.updates} updates accepted` : ''}`;

/** The shape of one workflow's last transition, fetched from the server. */
export async function historyShape(address: string, workflowId: string): Promise<HistoryShape> {
  const connection = await Connection.connect({ address });
  try {
    const { events } = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    return shapeOfLastMove(events ?? []);
  } finally {
    await connection.close();
  }
}
