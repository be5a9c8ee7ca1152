import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { enqueueDeliveriesSignal } from '../../../workflows/webhook-lane.messages.ts';
import { newId } from '../../ids.ts';
import { parseIsoDuration } from '../trials/durations.ts';
import { Trial } from '../trials/trial.entity.ts';
import { deliveryIdFor } from './delivery-id.ts';
import { postOnce, type AttemptResult } from './http-attempt.ts';
import { classify, retryAfterMs, type Outcome } from './retry-policy.ts';
import { signatureHeaders } from './signing.ts';
import { resolveTarget } from './ssrf.ts';
import { DeliveryAttempt, WebhookDelivery, type IDeliveryAttempt, type IWebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';
import { FAILING_AFTER_ATTEMPTS, isOperational, raiseOperationalEvent, type Dispatchable } from './operational-events.ts';

export const USER_AGENT = `Trialcast/${process.env.npm_package_version ?? '0.1.0'}`;

/** The change a delivery tells about, as recorded. */
export interface ChangeFacts {
  id: string;
  appId: string;
  trialId: string;
  sequence: number;
  oldSegment: string | null;
  newSegment: string;
  reason: string;
  occurredAt: string;
}

/** Every event type one transition produces (endpoints pick theirs with eventTypes). */
export function eventTypesFor(change: Pick<ChangeFacts, 'oldSegment' | 'newSegment'>): string[] {
  const types = ['trial.segment_changed', change.oldSegment === null ? 'trial.started' : 'trial.segment_left', 'trial.segment_entered'];
  if (change.newSegment === 'converted') types.push('trial.converted');
  if (change.newSegment === 'expired') types.push('trial.expired');
  return types;
}

export function wantsEvent(endpoint: Pick<IWebhookEndpoint, 'eventTypes'>, eventType: string): boolean {
  return endpoint.eventTypes.includes('*') || endpoint.eventTypes.includes(eventType);
}

interface TrialFacts {
  userId: string;
  email?: string | null;
  stripeCustomerId?: string | null;
  trialStart: Date;
  trialEnd: Date;
}

/** The body of one event, as the contract shows it (plus the per-trial sequence number). */
export function payloadFor(eventType: string, change: ChangeFacts, trial: TrialFacts, eventId: string): string {
  return JSON.stringify({
    id: eventId,
    event: eventType,
    app_id: change.appId,
    trial: {
      user_id: trial.userId,
      email: trial.email ?? null,
      stripe_customer_id: trial.stripeCustomerId ?? null,
      trial_start: trial.trialStart.toISOString(),
      trial_end: trial.trialEnd.toISOString(),
    },
    old_segment: change.oldSegment,
    new_segment: change.newSegment,
    ...(eventType === 'trial.segment_left' ? { segment: change.oldSegment } : {}),
    ...(eventType === 'trial.segment_entered' ? { segment: change.newSegment } : {}),
    reason: change.reason,
    sequence: change.sequence,
    occurred_at: change.occurredAt,
  });
}

/**
 * Inside the transaction that records the change: one delivery per (enabled endpoint,
 * wanted event type). Idempotent; returns them whether they were made now or before.
 */
export async function planDeliveries(em: EntityManager, change: ChangeFacts): Promise<Dispatchable[]> {
  const endpoints = await em.find(WebhookEndpoint, { app: change.appId, enabled: true });
  if (endpoints.length === 0) return [];
  const trial = await em.findOneOrFail(Trial, { id: change.trialId });
  const rows = endpoints.flatMap((endpoint) =>
    eventTypesFor(change)
      .filter((type) => wantsEvent(endpoint, type))
      .map((eventType) => {
        const id = deliveryIdFor(change.id, endpoint.id, eventType);
        return { id, endpoint, eventType, body: payloadFor(eventType, change, trial, `evt_${id.slice(4)}`) };
      }),
  );
  for (const { endpoint, ...row } of rows) {
    await em
      .createQueryBuilder(WebhookDelivery)
      .insert({ ...row, endpoint: endpoint.id, segmentChangeId: change.id, trialId: change.trialId, sequence: change.sequence, status: 'pending', attemptCount: 0, createdAt: new Date() })
      .onConflict('id')
      .ignore()
      .execute('run');
  }
  return rows.map(({ id, endpoint }) => ({ id, endpointId: endpoint.id, trialId: change.trialId, ordered: endpoint.ordered }));
}

/**
 * The lane a delivery waits in: one trial's deliveries to one endpoint go through one lane,
 * in order; everything else (unordered endpoints, tests, operational events) gets its own.
 */
export function laneIdFor(delivery: Dispatchable): string {
  return delivery.ordered && delivery.trialId ? `webhooks:${delivery.endpointId}:${delivery.trialId}` : `delivery:${delivery.id}`;
}

/**
 * Hands deliveries to their lanes (signal-with-start: the lane is started if it is not
 * running). Order within a lane is the order given here. Idempotent: a lane skips
 * deliveries that are no longer pending.
 */
export async function dispatchDeliveries(temporal: Client, taskQueue: string, deliveries: Dispatchable[]): Promise<void> {
  const lanes = new Map<string, string[]>();
  for (const delivery of deliveries) lanes.set(laneIdFor(delivery), [...(lanes.get(laneIdFor(delivery)) ?? []), delivery.id]);
  await Promise.all(
    [...lanes].map(([workflowId, deliveryIds]) =>
      temporal.workflow.signalWithStart('webhookLane', {
        workflowId,
        taskQueue,
        args: [{ deliveryIds: [] }],
        signal: enqueueDeliveriesSignal,
        signalArgs: [deliveryIds],
      }),
    ),
  );
}

/** Secrets that sign now: the current one, and the previous one during a rotation's overlap. */
function signingSecrets(endpoint: IWebhookEndpoint, now: Date): string[] {
  const overlap = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now;
  return overlap ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}

export interface AttemptOutcome {
  outcome: Outcome | 'skipped';
  attempt: IDeliveryAttempt | null;
  retryAfterMs: number | null;
  retrySchedule: string[];
  attemptCount: number;
}

export interface DeliveryDeps {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  allowPrivate: boolean;
}

/**
 * One attempt of a delivery, recorded whatever happens. The SSRF check runs at every
 * attempt (DNS may have changed) and the request goes to the address it checked.
 * A delivery that is no longer pending (delivered, failed, its endpoint disabled) is skipped.
 */
export async function attemptDelivery(deps: DeliveryDeps, deliveryId: string): Promise<AttemptOutcome> {
  const em = deps.orm.em.fork();
  const delivery = await em.findOneOrFail(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
  const endpoint = delivery.endpoint;
  if (delivery.status !== 'pending' || !endpoint.enabled) {
    return { outcome: 'skipped', attempt: null, retryAfterMs: null, retrySchedule: endpoint.retrySchedule, attemptCount: delivery.attemptCount };
  }
  const attemptedAt = new Date();
  let result: AttemptResult;
  try {
    const target = await resolveTarget(endpoint.url, deps.allowPrivate);
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    result = await postOnce(
      target,
      {
        ...endpoint.headers,
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...signatureHeaders(signingSecrets(endpoint, attemptedAt), delivery.id, timestamp, delivery.body),
      },
      delivery.body,
      endpoint.timeoutMs,
    );
  } catch (error) {
    result = { statusCode: null, headers: {}, body: null, durationMs: 0, error: (error as Error).message };
  }
  const outcome = classify(result.statusCode);
  const attempt = em.create(DeliveryAttempt, {
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
  // The endpoint's health: a run of failures starts at the first failed attempt and ends at
  // the next success. The tester's sends do not count either way.
  if (delivery.eventType !== 'webhook.test') endpoint.failingSince = outcome === 'delivered' ? null : (endpoint.failingSince ?? attemptedAt);
  const disabledBecause = outcome === 'gone' ? 'the endpoint answered 410 Gone' : failingTooLong(endpoint, attemptedAt);
  if (disabledBecause) {
    endpoint.enabled = false;
    endpoint.disabledReason = disabledBecause;
  }
  const raised: Dispatchable[] = [];
  await em.begin();
  try {
    await em.flush();
    // Operational events are about the app's own trial webhooks, never about each other.
    if (!isOperational(delivery.eventType)) raised.push(...(await raiseFromAttempt(em, { delivery, endpoint, attempt, outcome, result, disabledBecause })));
    await em.commit();
  } catch (error) {
    await em.rollback();
    throw error;
  }
  if (raised.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, raised);
  return { outcome, attempt, retryAfterMs: retryAfterMs(result.headers['retry-after'], Date.now()), retrySchedule: endpoint.retrySchedule, attemptCount: delivery.attemptCount };
}

interface AttemptFacts {
  delivery: IWebhookDelivery;
  endpoint: IWebhookEndpoint;
  attempt: IDeliveryAttempt;
  outcome: Outcome;
  result: AttemptResult;
  disabledBecause: string | null;
}

/** The operational events an attempt causes: the endpoint disabled, or a delivery now failing. */
async function raiseFromAttempt(tx: EntityManager, { delivery, endpoint, attempt, outcome, result, disabledBecause }: AttemptFacts): Promise<Dispatchable[]> {
  const raised: Dispatchable[] = [];
  const about = { appId: endpoint.app.id, endpointId: endpoint.id };
  if (disabledBecause) {
    raised.push(...(await raiseOperationalEvent(tx, { ...about, type: 'endpoint.disabled', deliveryId: delivery.id, message: `${endpoint.url} was disabled: ${disabledBecause}` }, attempt.id, { url: endpoint.url, reason: disabledBecause })));
  }
  if (outcome === 'retry' && delivery.attemptCount === FAILING_AFTER_ATTEMPTS) {
    const last = { last_status_code: result.statusCode, last_error: result.error, attempts: delivery.attemptCount, event_type: delivery.eventType };
    raised.push(...(await raiseOperationalEvent(tx, { ...about, type: 'delivery.failing', deliveryId: delivery.id, message: `delivery ${delivery.id} to ${endpoint.url} has failed ${delivery.attemptCount} times and is still being retried` }, delivery.id, last)));
  }
  return raised;
}

/** Why the endpoint is disabled now, if it has failed every delivery for its disableAfter period. */
function failingTooLong(endpoint: IWebhookEndpoint, now: Date): string | null {
  const limit = parseIsoDuration(endpoint.disableAfter);
  if (!endpoint.failingSince || limit === null || now.getTime() - endpoint.failingSince.getTime() < limit) return null;
  return `every delivery failed for ${endpoint.disableAfter} (since ${endpoint.failingSince.toISOString()})`;
}

/** The schedule ran out: the delivery fails for good, and the app's other endpoints hear of it. */
export async function markDeliveryExhausted(deps: DeliveryDeps, deliveryId: string): Promise<void> {
  const em = deps.orm.em.fork();
  const raised = await em.transactional(async (tx) => {
    const delivery = await tx.findOneOrFail(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
    if (delivery.status !== 'pending') return [];
    delivery.status = 'failed';
    await tx.flush();
    if (isOperational(delivery.eventType)) return [];
    const endpoint = delivery.endpoint;
    return raiseOperationalEvent(
      tx,
      { type: 'delivery.exhausted', appId: endpoint.app.id, endpointId: endpoint.id, deliveryId, message: `delivery ${deliveryId} to ${endpoint.url} failed ${delivery.attemptCount} times; its retry schedule has ended` },
      deliveryId,
      { attempts: delivery.attemptCount, event_type: delivery.eventType },
    );
  });
  if (raised.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, raised);
}
