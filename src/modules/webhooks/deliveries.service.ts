import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { enqueueDeliveriesSignal, type LaneItem } from '../../core/webhook-lane.messages.ts';
import { newId } from '../../ids.ts';
import { parseIsoDuration } from '../../core/durations.ts';
import { Trial } from '../trials/trial.entity.ts';
import { notifyAttempts } from './attempt-feed.ts';
import { deliveryIdFor } from './delivery-id.ts';
import { postOnce, type AttemptResult } from './http-attempt.ts';
import { classify, delayBefore, retryAfterMs, type Outcome } from '../../core/retry-policy.ts';
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
  /** ISO-8601 */
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
  // One statement for all of them (a transition to 10 endpoints makes up to 50 rows).
  const createdAt = new Date();
  await em
    .createQueryBuilder(WebhookDelivery)
    .insert(rows.map(({ endpoint, ...row }) => ({ ...row, endpoint: endpoint.id, segmentChangeId: change.id, trialId: change.trialId, sequence: change.sequence, status: 'pending' as const, attemptCount: 0, createdAt })))
    .onConflict('id')
    .ignore()
    .execute('run');
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
  const lanes = new Map<string, LaneItem[]>();
  for (const delivery of deliveries) {
    const item: LaneItem = delivery.notBefore === undefined ? { id: delivery.id } : { id: delivery.id, notBefore: delivery.notBefore };
    lanes.set(laneIdFor(delivery), [...(lanes.get(laneIdFor(delivery)) ?? []), item]);
  }
  await Promise.all(
    [...lanes].map(([workflowId, items]) =>
      temporal.workflow.signalWithStart('webhookLane', { workflowId, taskQueue, args: [{ items: [] }], signal: enqueueDeliveriesSignal, signalArgs: [items] }),
    ),
  );
}

export const dispatchable = (delivery: IWebhookDelivery): Dispatchable => ({
  id: delivery.id,
  endpointId: delivery.endpoint.id,
  trialId: delivery.trialId ?? null,
  ordered: delivery.endpoint.ordered,
});

/** The order one change's deliveries go out in, for each endpoint. */
const TYPE_ORDER = ['trial.segment_changed', 'trial.started', 'trial.segment_left', 'trial.segment_entered', 'trial.converted', 'trial.expired'];

/**
 * A change's first attempts, made straight away (from a local activity of the trial's
 * workflow, no workflow of their own): most webhooks cost Temporal nothing beyond the
 * change itself. The change's deliveries are loaded together, posted (endpoints in
 * parallel, each endpoint's in order) and recorded in one transaction. Only a delivery that
 * must be retried, or that must wait behind an earlier one of the same trial still being
 * retried, is handed to its lane. Re-run after a crash, it hands over what an earlier run
 * attempted (the lane skips what is no longer pending).
 */
export async function sendFirstAttempts(deps: DeliveryDeps, changeId: string): Promise<void> {
  const em = deps.orm.em.fork();
  const deliveries = await em.find(WebhookDelivery, { segmentChangeId: changeId, status: 'pending' }, { populate: ['endpoint'] });
  if (deliveries.length === 0) return;
  const blocked = await endpointsWithEarlierPending(em, deliveries[0]!);
  const byEndpoint = new Map<string, IWebhookDelivery[]>();
  for (const delivery of deliveries.sort((a, b) => TYPE_ORDER.indexOf(a.eventType) - TYPE_ORDER.indexOf(b.eventType))) {
    byEndpoint.set(delivery.endpoint.id, [...(byEndpoint.get(delivery.endpoint.id) ?? []), delivery]);
  }
  const posted: Posted[] = [];
  const waiting: IWebhookDelivery[] = [];
  await Promise.all(
    [...byEndpoint.values()].map(async (group) => {
      for (const delivery of group) {
        const { endpoint } = delivery;
        // Behind an earlier change still in the lane, or behind one of this change that just failed: queue.
        const queued = endpoint.ordered && (blocked.has(endpoint.id) || waiting.some((other) => other.endpoint === endpoint));
        if (!endpoint.enabled) continue;
        if (queued || delivery.attemptCount > 0) {
          waiting.push(delivery);
          continue;
        }
        const attemptedAt = new Date();
        const result = await post(delivery, deps.allowPrivate, attemptedAt);
        posted.push({ delivery, attemptedAt, result });
        if (classify(result.statusCode) === 'retry' && endpoint.ordered) blocked.add(endpoint.id);
      }
    }),
  );
  const outcomes = await recordAttempts(deps, em, posted);
  const handOver = waiting.map(dispatchable);
  for (const [index, { delivery }] of posted.entries()) {
    const result = outcomes[index]!;
    if (result.outcome !== 'retry') continue;
    const delay = delayBefore(result.attemptCount + 1, result.retrySchedule, Math.random(), result.retryAfterMs);
    if (delay === null) await markDeliveryExhausted(deps, delivery.id);
    else handOver.push({ ...dispatchable(delivery), notBefore: Date.now() + delay });
  }
  // A lane takes its deliveries in the order given: a change's failed first attempt before those queued behind it.
  const rank = new Map(deliveries.map((delivery) => [delivery.id, TYPE_ORDER.indexOf(delivery.eventType)]));
  handOver.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
  if (handOver.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, handOver);
}

/** The endpoints for which an earlier change of this delivery's trial is still pending (in a lane). */
async function endpointsWithEarlierPending(em: EntityManager, delivery: IWebhookDelivery): Promise<Set<string>> {
  if (delivery.trialId == null || delivery.sequence == null) return new Set();
  const rows = await em.find(WebhookDelivery, { trialId: delivery.trialId, status: 'pending', sequence: { $lt: delivery.sequence } }, { fields: ['endpoint'] });
  return new Set(rows.map((row) => row.endpoint.id));
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

/** The HTTP exchange of one attempt. The SSRF check runs at every attempt (DNS may have changed) and the request goes to the address it checked. */
async function post(delivery: IWebhookDelivery, allowPrivate: boolean, attemptedAt: Date): Promise<AttemptResult> {
  const endpoint = delivery.endpoint;
  try {
    const target = await resolveTarget(endpoint.url, allowPrivate);
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    const headers = { ...endpoint.headers, 'content-type': 'application/json', 'user-agent': USER_AGENT, ...signatureHeaders(signingSecrets(endpoint, attemptedAt), delivery.id, timestamp, delivery.body) };
    return await postOnce(target, headers, delivery.body, endpoint.timeoutMs);
  } catch (error) {
    return { statusCode: null, headers: {}, body: null, durationMs: 0, error: (error as Error).message };
  }
}

interface Posted {
  delivery: IWebhookDelivery;
  attemptedAt: Date;
  result: AttemptResult;
}

/**
 * Records attempts (in one transaction): the attempt rows, each delivery's status, its
 * endpoint's health (disabled after 410 or a long run of failures), and the operational
 * events that follow, whose deliveries are then handed to their lanes.
 */
async function recordAttempts(deps: DeliveryDeps, em: EntityManager, posted: Posted[]): Promise<AttemptOutcome[]> {
  const raised: Dispatchable[] = [];
  const outcomes: AttemptOutcome[] = [];
  await em.begin();
  try {
    const facts: AttemptFacts[] = [];
    for (const { delivery, attemptedAt, result } of posted) {
      const endpoint = delivery.endpoint;
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
      const disabledBecause = !endpoint.enabled ? null : outcome === 'gone' ? 'the endpoint answered 410 Gone' : failingTooLong(endpoint, attemptedAt);
      if (disabledBecause) {
        endpoint.enabled = false;
        endpoint.disabledReason = disabledBecause;
      }
      // Operational events are about the app's own trial webhooks, never about each other.
      if (!isOperational(delivery.eventType)) facts.push({ delivery, endpoint, attempt, outcome, result, disabledBecause });
      outcomes.push({ outcome, attempt, retryAfterMs: retryAfterMs(result.headers['retry-after'], Date.now()), retrySchedule: endpoint.retrySchedule, attemptCount: delivery.attemptCount });
    }
    await em.flush();
    await notifyAttempts(em, posted.map(({ delivery }, index) => ({ id: outcomes[index]!.attempt!.id, endpointId: delivery.endpoint.id })));
    for (const fact of facts) raised.push(...(await raiseFromAttempt(em, fact)));
    await em.commit();
  } catch (error) {
    await em.rollback();
    throw error;
  }
  if (raised.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, raised);
  return outcomes;
}

/**
 * One attempt of a delivery, recorded whatever happens. A delivery that is no longer
 * pending (delivered, failed, its endpoint disabled) is skipped.
 */
export async function attemptDelivery(deps: DeliveryDeps, deliveryId: string): Promise<AttemptOutcome> {
  const em = deps.orm.em.fork();
  const delivery = await em.findOneOrFail(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
  if (delivery.status !== 'pending' || !delivery.endpoint.enabled) {
    return { outcome: 'skipped', attempt: null, retryAfterMs: null, retrySchedule: delivery.endpoint.retrySchedule, attemptCount: delivery.attemptCount };
  }
  const attemptedAt = new Date();
  const [outcome] = await recordAttempts(deps, em, [{ delivery, attemptedAt, result: await post(delivery, deps.allowPrivate, attemptedAt) }]);
  return outcome!;
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

/** Delivered and failed deliveries older than the retention go, with their attempts (cascade); a batch at a time. */
export async function pruneDeliveries(orm: MikroORM, retention: string, batch = 5000): Promise<number> {
  const cutoff = new Date(Date.now() - (parseIsoDuration(retention) ?? 0));
  const rows = await orm.em.fork().getConnection().execute<Array<{ id: string }>>(
    `delete from webhook_deliveries where id in (
       select id from webhook_deliveries where created_at < ? and status <> 'pending' limit ?
     ) returning id`,
    [cutoff, batch],
  );
  return rows.length;
}
