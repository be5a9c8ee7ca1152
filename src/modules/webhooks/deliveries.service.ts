import { createHash } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { newId } from '../../ids.ts';
import { Trial } from '../trials/trial.entity.ts';
import { postOnce, type AttemptResult } from './http-attempt.ts';
import { classify, retryAfterMs, type Outcome } from './retry-policy.ts';
import { signatureHeaders } from './signing.ts';
import { resolveTarget } from './ssrf.ts';
import { DeliveryAttempt, WebhookDelivery, type IDeliveryAttempt } from './webhook-delivery.entity.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';

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
  const types = ['trial.segment_changed', 'trial.segment_entered'];
  if (change.oldSegment !== null) types.push('trial.segment_left');
  else types.push('trial.started');
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

/** Same change, endpoint and type: same id, whoever computes it and however often. */
function deliveryIdFor(changeId: string, endpointId: string, eventType: string): string {
  return `msg_${createHash('sha256').update(`${changeId}|${endpointId}|${eventType}`).digest('hex').slice(0, 26)}`;
}

/**
 * Inside the transaction that records the change: one delivery per (enabled endpoint,
 * wanted event type). Idempotent; returns the ids whether they were made now or before.
 */
export async function planDeliveries(em: EntityManager, change: ChangeFacts): Promise<string[]> {
  const endpoints = await em.find(WebhookEndpoint, { app: change.appId, enabled: true });
  if (endpoints.length === 0) return [];
  const trial = await em.findOneOrFail(Trial, { id: change.trialId });
  const rows = endpoints.flatMap((endpoint) =>
    eventTypesFor(change)
      .filter((type) => wantsEvent(endpoint, type))
      .map((eventType) => {
        const id = deliveryIdFor(change.id, endpoint.id, eventType);
        return { id, endpoint: endpoint.id, eventType, body: payloadFor(eventType, change, trial, `evt_${id.slice(4)}`), segmentChangeId: change.id };
      }),
  );
  for (const row of rows) {
    await em.createQueryBuilder(WebhookDelivery).insert({ ...row, status: 'pending', attemptCount: 0, createdAt: new Date() }).onConflict('id').ignore().execute('run');
  }
  return rows.map((row) => row.id);
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

/**
 * One attempt of a delivery, recorded whatever happens. The SSRF check runs at every
 * attempt (DNS may have changed) and the request goes to the address it checked.
 */
export async function attemptDelivery(orm: MikroORM, deliveryId: string, allowPrivate: boolean): Promise<AttemptOutcome> {
  const em = orm.em.fork();
  const delivery = await em.findOneOrFail(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
  const endpoint = delivery.endpoint;
  if (delivery.status === 'delivered' || !endpoint.enabled) {
    return { outcome: 'skipped', attempt: null, retryAfterMs: null, retrySchedule: endpoint.retrySchedule, attemptCount: delivery.attemptCount };
  }
  const attemptedAt = new Date();
  let result: AttemptResult;
  try {
    const target = await resolveTarget(endpoint.url, allowPrivate);
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
  if (outcome === 'gone') {
    endpoint.enabled = false;
    endpoint.disabledReason = 'the endpoint answered 410 Gone';
  }
  await em.flush();
  return { outcome, attempt, retryAfterMs: retryAfterMs(result.headers['retry-after'], Date.now()), retrySchedule: endpoint.retrySchedule, attemptCount: delivery.attemptCount };
}

export async function markDeliveryFailed(orm: MikroORM, deliveryId: string): Promise<void> {
  await orm.em.fork().nativeUpdate(WebhookDelivery, { id: deliveryId, status: 'pending' }, { status: 'failed' });
}

/** Starts a delivery's workflow once: a second start (activity retry, replay) is a no-op. */
export async function startDeliveryWorkflow(temporal: Client, taskQueue: string, deliveryId: string, workflowId = `delivery:${deliveryId}`): Promise<void> {
  try {
    await temporal.workflow.start('deliverWebhook', {
      workflowId,
      taskQueue,
      args: [{ deliveryId }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
