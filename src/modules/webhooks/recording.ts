/**
 * Recording attempts, in one transaction: the attempt rows, each delivery's status, its
 * endpoint's health (endpoint-health.ts), the live notices, and the operational events that
 * follow, whose deliveries are then handed to their lanes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { classify, retryAfterMs, type Outcome } from '../../core/retry-policy.ts';
import { newId } from '../../ids.ts';
import { notifyAttempts } from './attempt-feed.ts';
import { isOperational } from './catalog.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { healthAfterAttempt } from './endpoint-health.ts';
import type { AttemptResult } from './http-attempt.ts';
import { dispatchDeliveries, type Dispatchable } from './lanes.ts';
import { FAILING_AFTER_ATTEMPTS, raiseOperationalEvent } from './operational-events.ts';
import { DeliveryAttempt, type IDeliveryAttempt, type IWebhookDelivery } from './webhook-delivery.entity.ts';

export interface Posted {
  delivery: IWebhookDelivery;
  attemptedAt: Date;
  result: AttemptResult;
}

export interface AttemptOutcome {
  outcome: Outcome | 'skipped';
  attempt: IDeliveryAttempt | null;
  retryAfterMs: number | null;
  retrySchedule: string[];
  attemptCount: number;
}

export async function recordAttempts(deps: DeliveryDeps, em: EntityManager, posted: Posted[]): Promise<AttemptOutcome[]> {
  const outcomes: AttemptOutcome[] = [];
  const raised = await em.transactional(async (tx) => {
    const causes: Array<() => Promise<Dispatchable[]>> = [];
    for (const { delivery, attemptedAt, result } of posted) {
      const endpoint = delivery.endpoint;
      const outcome = classify(result.statusCode);
      const attempt = tx.create(DeliveryAttempt, {
        id: newId('att'),
        delivery,
        attemptedAt,
        durationMs: result.durationMs,
        statusCode: result.statusCode,
        responseHeaders: result.headers,
        responseBody: result.body,
        error: result.error,
      });
      delivery.attemptCount += 1;
      if (outcome === 'delivered') {
        delivery.status = 'delivered';
        delivery.deliveredAt = new Date();
      } else if (outcome === 'final' || outcome === 'gone') {
        delivery.status = 'failed';
      }
      const { failingSince, disabledBecause } = healthAfterAttempt(endpoint, delivery.eventType, outcome, attemptedAt);
      endpoint.failingSince = failingSince;
      if (disabledBecause) {
        endpoint.enabled = false;
        endpoint.disabledReason = disabledBecause;
      }
      // Operational events are about the app's own trial webhooks, never about each other.
      if (!isOperational(delivery.eventType)) causes.push(() => raiseFromAttempt(tx, { delivery, attempt, outcome, result, disabledBecause }));
      outcomes.push({
        outcome,
        attempt,
        retryAfterMs: retryAfterMs(result.headers['retry-after'], Date.now()),
        retrySchedule: endpoint.retrySchedule,
        attemptCount: delivery.attemptCount,
      });
    }
    await tx.flush();
    await notifyAttempts(
      tx,
      posted.map(({ delivery }, index) => ({ id: outcomes[index]!.attempt!.id, endpointId: delivery.endpoint.id })),
    );
    const events: Dispatchable[] = [];
    for (const cause of causes) events.push(...(await cause()));
    return events;
  });
  if (raised.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, raised);
  return outcomes;
}

interface AttemptFacts {
  delivery: IWebhookDelivery;
  attempt: IDeliveryAttempt;
  outcome: Outcome;
  result: AttemptResult;
  disabledBecause: string | null;
}

/** The operational events an attempt causes: the endpoint disabled, or a delivery now failing. */
async function raiseFromAttempt(tx: EntityManager, { delivery, attempt, outcome, result, disabledBecause }: AttemptFacts): Promise<Dispatchable[]> {
  const { endpoint } = delivery;
  const raised: Dispatchable[] = [];
  const about = { appId: endpoint.app.id, endpointId: endpoint.id };
  if (disabledBecause) {
    raised.push(
      ...(await raiseOperationalEvent(
        tx,
        { ...about, type: 'endpoint.disabled', deliveryId: delivery.id, message: `${endpoint.url} was disabled: ${disabledBecause}` },
        attempt.id,
        { url: endpoint.url, reason: disabledBecause },
      )),
    );
  }
  if (outcome === 'retry' && delivery.attemptCount === FAILING_AFTER_ATTEMPTS) {
    const last = { last_status_code: result.statusCode, last_error: result.error, attempts: delivery.attemptCount, event_type: delivery.eventType };
    raised.push(
      ...(await raiseOperationalEvent(
        tx,
        {
          ...about,
          type: 'delivery.failing',
          deliveryId: delivery.id,
          message: `delivery ${delivery.id} to ${endpoint.url} has failed ${delivery.attemptCount} times and is still being retried`,
        },
        delivery.id,
        last,
      )),
    );
  }
  return raised;
}
