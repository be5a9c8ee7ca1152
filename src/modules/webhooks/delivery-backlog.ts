/**
 * Whether webhooks are backing up, as the database says at the moment it is asked (a scrape of
 * /metrics): deliveries still pending (before their first attempt, or being retried), the age
 * of the oldest one, and endpoints by health. One statement; each endpoint's counts come from
 * its (endpoint, status, created_at) index, so the cost follows the endpoints and the backlog.
 */
import type { MikroORM } from '@mikro-orm/postgresql';

export interface DeliveryBacklog {
  pendingFirstAttempt: number;
  pendingRetrying: number;
  /** Seconds since the oldest pending delivery was planned; 0 when none is pending. */
  oldestPendingSeconds: number;
  endpoints: { healthy: number; failing: number; disabled: number };
}

export async function deliveryBacklog(orm: MikroORM): Promise<DeliveryBacklog> {
  const [row] = await orm.em
    .getConnection()
    .execute<Array<{ first: string; retrying: string; oldest: number | null; healthy: string; failing: string; disabled: string }>>(
      `select coalesce(sum(p.first), 0) as first, coalesce(sum(p.retrying), 0) as retrying,
            extract(epoch from now() - min(p.oldest))::float8 as oldest,
            count(*) filter (where e.enabled and e.failing_since is null) as healthy,
            count(*) filter (where e.enabled and e.failing_since is not null) as failing,
            count(*) filter (where not e.enabled) as disabled
       from webhook_endpoints e
       cross join lateral (
         select count(*) filter (where d.attempt_count = 0) as first, count(*) filter (where d.attempt_count > 0) as retrying, min(d.created_at) as oldest
           from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'pending') p`,
    );
  return {
    pendingFirstAttempt: Number(row?.first ?? 0),
    pendingRetrying: Number(row?.retrying ?? 0),
    oldestPendingSeconds: Math.max(0, row?.oldest ?? 0),
    endpoints: { healthy: Number(row?.healthy ?? 0), failing: Number(row?.failing ?? 0), disabled: Number(row?.disabled ?? 0) },
  };
}
