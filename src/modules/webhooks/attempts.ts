/** What a lane does with one delivery: attempt it, or, when its schedule has ended, fail it for good. */
import type { DeliveryDeps } from './delivery-deps.ts';
import { dispatchDeliveries } from './lanes.ts';
import { isOperational } from './catalog.ts';
import { raiseOperationalEvent } from './operational-events.ts';
import { recordAttempts, type AttemptOutcome } from './recording.ts';
import { sendAttempt } from './sending.ts';
import { claimSendSlot } from './throttle.ts';
import { WebhookDelivery } from './webhook-delivery.entity.ts';

/**
 * One attempt of a delivery, recorded whatever happens. A delivery that is no longer
 * pending (delivered, failed, its endpoint disabled) is skipped; one its endpoint's throttle
 * holds back is not sent and not recorded, and told its slot (`slotHeld` when it comes back).
 */
export async function attemptDelivery(deps: DeliveryDeps, deliveryId: string, slotHeld = false): Promise<AttemptOutcome> {
  const em = deps.orm.em.fork();
  const delivery = await em.findOne(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
  // Gone with its endpoint (deleted, or a Zapier hook Zapier unsubscribed): nothing left to send.
  if (!delivery) return { outcome: 'skipped', attemptId: null, retryAfterMs: null, retrySchedule: [], attemptCount: 0 };
  if (delivery.status !== 'pending' || !delivery.endpoint.enabled) {
    return { outcome: 'skipped', attemptId: null, retryAfterMs: null, retrySchedule: delivery.endpoint.retrySchedule, attemptCount: delivery.attemptCount };
  }
  const slot = await claimSendSlot(em, delivery.endpoint, slotHeld);
  if (!slot.now) {
    return { outcome: 'throttled', sendAt: slot.sendAt, attemptId: null, retryAfterMs: null, retrySchedule: [], attemptCount: delivery.attemptCount };
  }
  const attemptedAt = new Date();
  const [outcome] = await recordAttempts(deps, em, [{ delivery, attemptedAt, result: await sendAttempt(delivery, deps, attemptedAt) }]);
  return outcome!;
}

/** The schedule ran out: the delivery fails for good, and the app's other endpoints hear of it. */
export async function markDeliveryExhausted(deps: DeliveryDeps, deliveryId: string): Promise<void> {
  const em = deps.orm.em.fork();
  const raised = await em.transactional(async (tx) => {
    const delivery = await tx.findOne(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
    if (!delivery || delivery.status !== 'pending') return [];
    delivery.status = 'failed';
    await tx.flush();
    deps.observer?.finished('exhausted');
    if (isOperational(delivery.eventType)) return [];
    const endpoint = delivery.endpoint;
    return raiseOperationalEvent(
      tx,
      {
        type: 'delivery.exhausted',
        appId: endpoint.app.id,
        endpointId: endpoint.id,
        deliveryId,
        message: `delivery ${deliveryId} to ${endpoint.url} failed ${delivery.attemptCount} times; its retry schedule has ended`,
      },
      deliveryId,
      { attempts: delivery.attemptCount, event_type: delivery.eventType },
    );
  });
  if (raised.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, raised);
}
