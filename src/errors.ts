/**
 * A problem the operator can fix (bad configuration, a port in use, a missing tool).
 * The process entry point prints its message as one line and exits non-zero,
 * instead of a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
