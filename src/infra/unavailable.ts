/**
 * Whether an error means a dependency is unreachable or refusing work for now (PostgreSQL down, frozen or out of
 * connections; Temporal down or not answering before its deadline): the request may be retried as it is, so the
 * API answers 503 with Retry-After instead of a 500. Walks the error's causes (the ORM and the SDK wrap them).
 */
const POSTGRES_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const POSTGRES_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|connection slots are reserved|too many clients/i;
// gRPC's DEADLINE_EXCEEDED (4) and UNAVAILABLE (14); the native connection reports a deadline as "Timeout expired".
const TEMPORAL_CODES = new Set([4, 14]);
const TEMPORAL_MESSAGES = /DEADLINE_EXCEEDED|Deadline exceeded|Timeout expired|UNAVAILABLE|transport error|tcp connect error/i;

export type Dependency = 'PostgreSQL' | 'Temporal';

export function unavailableDependency(error: unknown): Dependency | null {
  for (let current = error as { name?: string; code?: unknown; message?: string; cause?: unknown } | undefined, depth = 0; current && depth < 8; depth++) {
    const message = String(current.message ?? '');
    if (current.name === 'ConnectionException' || POSTGRES_CODES.has(String(current.code)) || POSTGRES_MESSAGES.test(message)) return 'PostgreSQL';
    if (
      (current.name === 'ServiceError' && (current.code === 4 || current.code === 14)) ||
      (current.name === 'ServiceError' && TEMPORAL_MESSAGES.test(message))
    )
      return 'Temporal';
    if (TEMPORAL_MESSAGES.test(message) && /temporal|grpc|workflow/i.test(`${current.name} ${message}`)) return 'Temporal';
    current = current.cause as typeof current;
  }
  return null;
}
