import type { Client } from '@temporalio/client';

/**
 * A request's calls to Temporal give up after this (ingest's signals, a trial's start): with the server away the
 * request answers 503 in seconds and the client's retry (idempotent: the same signal, a start that uses the
 * existing run) tries again, instead of the request hanging until the server is back.
 */
const CALL_DEADLINE_MS = 5000;

export function withCallDeadline<T>(temporal: Client, call: () => Promise<T>): Promise<T> {
  return temporal.withDeadline(Date.now() + CALL_DEADLINE_MS, call);
}
