/** A workflow that ended before a signal reached it has nothing left to do with it: that is not an error. */
export function unlessWorkflowEnded(error: Error): void {
  if (error.name !== 'WorkflowNotFoundError') throw error;
}
