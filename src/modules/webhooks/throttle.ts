/**
 * An endpoint's `maxPerSecond`: its sends are spaced at least 1/maxPerSecond apart, so no second
 * holds more than maxPerSecond of them, however many moves arrive at once (a settings change
 * moving 10,000 trials, an outage replay).
 *
 * Two timestamps on the endpoint's row, decided in one locked statement:
 * - `throttle_last_sent_at`, the last send: a send happens only a full step after it (strict);
 * - `throttle_reserved_until`, the end of the slots handed out: a delivery that cannot go now is
 *   given the next free slot and told to come back then ("held"), so a burst of 10,000 spreads
 *   over its slots instead of every waiter waking at once and asking again.
 * A held delivery that wakes to find an earlier holder sent late waits the rest of a step.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';

export type SendSlot = { now: true } | { now: false; sendAt: number };

const CLAIM_SEND_SLOT = prepareStatement(`
with e as (
  select id, make_interval(secs => 1.0 / max_per_second) as step, clock_timestamp() as now,
         throttle_last_sent_at as last_sent, throttle_reserved_until as reserved
  from webhook_endpoints where id = $1 and max_per_second is not null for update
), decided as (
  select id, step, now, reserved,
         -- a held delivery's slot is now (it waited for it); a new one's is the first not handed out
         greatest(case when $2 then now else greatest(reserved, now) end, last_sent + step) as send_at
  from e
)
update webhook_endpoints w
set throttle_last_sent_at = case when d.send_at <= d.now then d.now else w.throttle_last_sent_at end,
    throttle_reserved_until = case when $2 then w.throttle_reserved_until else d.send_at + d.step end
from decided d where w.id = d.id
returning d.send_at <= d.now as send_now, (extract(epoch from d.send_at) * 1000)::float8 as send_at_ms`);

/**
 * Whether a delivery to a throttled endpoint may be sent now; if not, when to come back (the
 * slot is then its own: come back with `held`). An endpoint without a throttle always may.
 */
export async function claimSendSlot(em: EntityManager, endpoint: { id: string; maxPerSecond?: number | null }, held: boolean): Promise<SendSlot> {
  if (endpoint.maxPerSecond == null) return { now: true };
  const [row] = await executeBound<{ send_now: boolean; send_at_ms: number }>(em, CLAIM_SEND_SLOT, [endpoint.id, held]);
  // The throttle was removed meanwhile.
  if (!row || row.send_now) return { now: true };
  return { now: false, sendAt: Math.ceil(row.send_at_ms) };
}
