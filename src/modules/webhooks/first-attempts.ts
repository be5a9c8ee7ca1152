/**
 * A change's first attempts, made straight away (from a local activity of the trial's
 * workflow, no workflow of their own): most webhooks cost Temporal nothing beyond the change
 * itself. The change's deliveries are loaded together (handed over by the change's recording
 * in the same worker, else read), posted (endpoints in parallel, each endpoint's in order) and
 * recorded in one transaction. Only a delivery that must be retried,
 * or that must wait behind an earlier one of the same trial still being retried, is handed to
 * its lane. Re-run after a crash, it hands over what an earlier run attempted (the lane skips
 * what is no longer pending). A delivery its endpoint's throttle holds back goes to its lane
 * with the slot it was given.
 */
import { delayBefore } from '../../core/retry-policy.ts';
import { answerOf, type EndpointFormat } from './formats.ts';
import { markDeliveryExhausted } from './attempts.ts';
import { sendingRank } from './catalog.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { dispatchable, dispatchDeliveries, type Dispatchable } from './lanes.ts';
import { recordAttempts, type Posted } from './recording.ts';
import { sendAttempt } from './sending.ts';
import { TtlCache } from '../../infra/ttl-cache.ts';
import { pendingDeliveriesFrom, pendingDeliveriesOfChange, type PendingDeliveryRow } from './pending-deliveries.ts';
import { claimSendSlot } from './throttle.ts';
import type { DeliveryView } from './webhook-delivery.entity.ts';

/**
 * How long a change's recorded deliveries may stand for a fresh read. The next local activity takes them within
 * milliseconds, or within the worker's backlog under a burst (first attempts' p99 at capacity: under a second); an
 * endpoint disabled or edited in between is sent to as it was, for at most this long (a read has the same window,
 * from the read to the POST, only shorter).
 */
const HANDOVER_MS = 1_000;

/**
 * The deliveries a change's recording planned, handed to its first attempts: the workflow's next
 * local activity, which runs in the same worker as the recording but for a worker gone between
 * them. Each is taken once (a retried attempt reads what the first try left); one not taken (its
 * workflow task failed after the recording) expires. The read is kept where the recording saw an
 * earlier change's delivery still pending: the workflow sends that change's first attempts just
 * before this one's, and the read sees how they went.
 */
export class DeliveryHandover {
  readonly #planned = new TtlCache<string, PendingDeliveryRow[]>(HANDOVER_MS);

  hand(changeId: string, rows: PendingDeliveryRow[]): void {
    if (rows.length > 0 && rows.every((row) => !row.behind_earlier)) this.#planned.set(changeId, rows);
  }

  take(changeId: string): PendingDeliveryRow[] | undefined {
    const rows = this.#planned.get(changeId);
    this.#planned.delete(changeId);
    return rows;
  }
}

export async function sendFirstAttempts(deps: DeliveryDeps, changeId: string, handover?: DeliveryHandover): Promise<void> {
  const em = deps.orm.em.fork();
  const handed = handover?.take(changeId);
  const pending = handed ? pendingDeliveriesFrom(handed) : await pendingDeliveriesOfChange(em, changeId);
  if (pending.length === 0) return;
  const deliveries = pending.map(({ delivery }) => delivery);
  const blocked = new Set(pending.filter(({ behindEarlier }) => behindEarlier).map(({ delivery }) => delivery.endpoint.id));
  const byEndpoint = new Map<string, DeliveryView[]>();
  for (const delivery of deliveries.sort((a, b) => sendingRank(a.eventType) - sendingRank(b.eventType))) {
    byEndpoint.set(delivery.endpoint.id, [...(byEndpoint.get(delivery.endpoint.id) ?? []), delivery]);
  }
  const posted: Posted[] = [];
  const waiting: Dispatchable[] = [];
  await Promise.all(
    [...byEndpoint.values()].map(async (group) => {
      for (const delivery of group) {
        const { endpoint } = delivery;
        // Behind an earlier change still in the lane, or behind one of this change that just failed: queue.
        const queued = endpoint.ordered && (blocked.has(endpoint.id) || waiting.some((other) => other.endpointId === endpoint.id));
        if (!endpoint.enabled) continue;
        if (queued || delivery.attemptCount > 0) {
          waiting.push(dispatchable(delivery));
          continue;
        }
        const slot = await claimSendSlot(em, endpoint, false);
        if (!slot.now) {
          // Its throttle's slot is later: the lane sends it then, and this trial's later ones behind it.
          waiting.push({ ...dispatchable(delivery), notBefore: slot.sendAt, slotHeld: true });
          if (endpoint.ordered) blocked.add(endpoint.id);
          continue;
        }
        const attemptedAt = new Date();
        const result = await sendAttempt(delivery, deps, attemptedAt);
        posted.push({ delivery, attemptedAt, result });
        if (answerOf(endpoint.format as EndpointFormat, result).outcome === 'retry' && endpoint.ordered) blocked.add(endpoint.id);
      }
    }),
  );
  const outcomes = await recordAttempts(deps, em, posted);
  const handOver = [...waiting];
  for (const [index, { delivery }] of posted.entries()) {
    const result = outcomes[index]!;
    if (result.outcome !== 'retry') continue;
    const delay = delayBefore(result.attemptCount + 1, result.retrySchedule, Math.random(), result.retryAfterMs);
    if (delay === null) await markDeliveryExhausted(deps, delivery.id);
    else handOver.push({ ...dispatchable(delivery), notBefore: Date.now() + delay });
  }
  // A lane takes its deliveries in the order given: a change's failed first attempt before those queued behind it.
  const rank = new Map(deliveries.map((delivery) => [delivery.id, sendingRank(delivery.eventType)]));
  handOver.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
  if (handOver.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, handOver);
}
