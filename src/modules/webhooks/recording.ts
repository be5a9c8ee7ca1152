/**
 * Recording attempts, in one transaction: the attempt rows, each delivery's status, its
 * endpoint's health (endpoint-health.ts), the live notices, and the operational events that
 * follow, whose deliveries are then handed to their lanes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import { retryAfterMs, type Outcome } from '../../core/retry-policy.ts';
import { newId } from '../../ids.ts';
import { DELIVERY_ATTEMPT_CHANNEL } from './attempt-feed.ts';
import { isOperational } from './catalog.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { healthAfterAttempt } from './endpoint-health.ts';
import { answerOf, DELETED_WHEN_DISABLED, type EndpointFormat } from './formats.ts';
import { attemptClass, type AttemptResult } from './http-attempt.ts';
import { dispatchDeliveries, type Dispatchable } from './lanes.ts';
import { FAILING_AFTER_ATTEMPTS, raiseOperationalEvent } from './operational-events.ts';
import type { DeliveryView } from './webhook-delivery.entity.ts';
import { WebhookEndpoint, type EndpointView } from './webhook-endpoint.entity.ts';

export interface Posted {
  delivery: DeliveryView;
  attemptedAt: Date;
  result: AttemptResult;
}

export interface AttemptOutcome {
  /** `throttled`: not sent, the endpoint's throttle gave it the slot at `sendAt` (throttle.ts). */
  outcome: Outcome | 'skipped' | 'throttled';
  attemptId: string | null;
  retryAfterMs: number | null;
  retrySchedule: string[];
  attemptCount: number;
  /** Epoch ms of a throttled delivery's slot. */
  sendAt?: number;
}

/**
 * The attempt rows, the deliveries' and endpoints' new state and the live notices, in one
 * statement: this runs for every webhook sent, and the ORM's unit of work spent several round
 * trips and more CPU than the HTTP request on the same rows.
 */
const RECORD_ATTEMPTS = prepareStatement(`
with attempts as (
  insert into delivery_attempts (id, delivery_id, delivery_created_at, attempted_at, duration_ms, status_code, response_headers, response_body, error)
  select id, delivery_id, delivery_created_at, attempted_at, duration_ms, status_code, response_headers, response_body, error
  from jsonb_to_recordset(cast($1 as jsonb))
    as a(id text, delivery_id text, delivery_created_at timestamptz, attempted_at timestamptz, duration_ms int, status_code int, response_headers jsonb, response_body text, error text)
), updates as (
  select v.id, v.created_at, v.status, v.attempt_count, v.delivered_at
  from jsonb_to_recordset(cast($2 as jsonb)) as v(id text, created_at timestamptz, status text, attempt_count int, delivered_at timestamptz)
), deliveries as (
  -- The = any(array(…)) condition makes the deliveries a lookup by each week's primary key index, whatever a young
  -- week's statistics say (joined to the row set alone, PostgreSQL scanned the whole week for every recording).
  update webhook_deliveries d set status = v.status, attempt_count = v.attempt_count, delivered_at = v.delivered_at
  from updates v
  where d.id = any(array(select id from updates)) and d.id = v.id and d.created_at = v.created_at
), endpoints as (
  update webhook_endpoints e set failing_since = v.failing_since, enabled = v.enabled, disabled_reason = v.disabled_reason
  from jsonb_to_recordset(cast($3 as jsonb)) as v(id text, failing_since timestamptz, enabled boolean, disabled_reason text)
  where e.id = v.id
)
select pg_notify($4, value) from jsonb_array_elements_text(cast($5 as jsonb))`);

export async function recordAttempts(deps: DeliveryDeps, em: EntityManager, posted: Posted[]): Promise<AttemptOutcome[]> {
  const outcomes: AttemptOutcome[] = [];
  const attempts: AttemptRow[] = [];
  const causes: AttemptFacts[] = [];
  // An endpoint's row is written only when its health changed, once, as its last attempt left it.
  const changedEndpoints = new Map<string, EndpointView>();
  for (const { delivery, attemptedAt, result } of posted) {
    const endpoint = delivery.endpoint;
    const answer = answerOf(endpoint.format as EndpointFormat, result);
    const outcome = answer.outcome;
    const attemptId = newId('att');
    attempts.push({
      id: attemptId,
      delivery_id: delivery.id,
      delivery_created_at: delivery.createdAt.toISOString(),
      attempted_at: attemptedAt.toISOString(),
      duration_ms: result.durationMs,
      status_code: result.statusCode,
      response_headers: result.headers,
      response_body: result.body,
      error: result.error ?? answer.note,
    });
    delivery.attemptCount += 1;
    if (outcome === 'delivered') {
      delivery.status = 'delivered';
      delivery.deliveredAt = new Date();
      deps.observer?.finished('delivered');
    } else if (outcome === 'final' || outcome === 'gone') {
      delivery.status = 'failed';
      deps.observer?.finished('failed');
    }
    const { failingSince, disabledBecause } = healthAfterAttempt(endpoint, delivery.eventType, outcome, attemptedAt, answer.disables);
    if ((failingSince?.getTime() ?? null) !== (endpoint.failingSince?.getTime() ?? null) || disabledBecause) changedEndpoints.set(endpoint.id, endpoint);
    endpoint.failingSince = failingSince;
    if (disabledBecause) {
      endpoint.enabled = false;
      endpoint.disabledReason = disabledBecause;
    }
    // Operational events are about the app's own trial webhooks, never about each other.
    const nowFailing = outcome === 'retry' && delivery.attemptCount === FAILING_AFTER_ATTEMPTS;
    if (!isOperational(delivery.eventType) && (disabledBecause || nowFailing)) causes.push({ delivery, attemptId, result, disabledBecause, nowFailing });
    deps.observer?.attempted({
      outcome: attemptClass(result),
      durationMs: result.durationMs,
      sincePlannedMs: attemptedAt.getTime() - delivery.createdAt.getTime(),
      first: delivery.attemptCount === 1,
      delivered: outcome === 'delivered',
    });
    outcomes.push({
      outcome,
      attemptId,
      retryAfterMs: retryAfterMs(result.headers['retry-after'], Date.now()),
      retrySchedule: endpoint.retrySchedule,
      attemptCount: delivery.attemptCount,
    });
  }
  const record = (tx: EntityManager, rows: object[]) =>
    executeBound(tx, RECORD_ATTEMPTS, [
      JSON.stringify(rows),
      JSON.stringify(
        posted.map(({ delivery }) => ({
          id: delivery.id,
          created_at: delivery.createdAt.toISOString(),
          status: delivery.status,
          attempt_count: delivery.attemptCount,
          delivered_at: delivery.deliveredAt?.toISOString() ?? null,
        })),
      ),
      JSON.stringify(
        [...changedEndpoints.values()].map((endpoint) => ({
          id: endpoint.id,
          failing_since: endpoint.failingSince?.toISOString() ?? null,
          enabled: endpoint.enabled,
          disabled_reason: endpoint.disabledReason ?? null,
        })),
      ),
      DELIVERY_ATTEMPT_CHANNEL,
      JSON.stringify(posted.map(({ delivery }, index) => JSON.stringify({ id: outcomes[index]!.attemptId, endpointId: delivery.endpoint.id }))),
    ]);
  // One statement is atomic on its own; operational events it causes commit with it.
  const persist = async (rows: object[]): Promise<Dispatchable[]> => {
    if (causes.length === 0) return (await record(em, rows), []);
    return em.transactional(async (tx) => {
      await record(tx, rows);
      const events: Dispatchable[] = [];
      for (const cause of causes) events.push(...(await raiseFromAttempt(tx, cause)));
      return events;
    });
  };
  let raised: Dispatchable[];
  try {
    raised = await persist(attempts);
  } catch (error) {
    // The POSTs were made: if the answers cannot be stored, their outcomes still must be, or the
    // activity fails, is retried and POSTs again. Only a second failure (the database itself)
    // leaves the attempts unrecorded, and then at-least-once delivery re-sends the same webhook-id.
    raised = await persist(attempts.map((attempt) => withoutAnswer(attempt, error)));
  }
  // A Zapier hook disabled is unsubscribed: deleted, as Zapier's REST hooks expect (which frees its place).
  const unsubscribed = [...changedEndpoints.values()].filter((endpoint) => !endpoint.enabled && DELETED_WHEN_DISABLED.has(endpoint.format as EndpointFormat));
  if (unsubscribed.length) await em.nativeDelete(WebhookEndpoint, { id: { $in: unsubscribed.map((endpoint) => endpoint.id) }, enabled: false });
  if (raised.length) await dispatchDeliveries(deps.temporal, deps.taskQueue, raised);
  return outcomes;
}

/** An attempt row with the receiver's answer left out, saying why. */
function withoutAnswer(attempt: AttemptRow, error: unknown): AttemptRow {
  const code = (error as { code?: unknown }).code;
  const note = `the answer could not be recorded${typeof code === 'string' ? ` (PostgreSQL ${code})` : ''}; only its status is kept`;
  return { ...attempt, response_headers: {}, response_body: null, error: attempt.error ? `${attempt.error}; ${note}` : note };
}

interface AttemptRow {
  id: string;
  delivery_id: string;
  delivery_created_at: string;
  attempted_at: string;
  duration_ms: number;
  status_code: number | null;
  response_headers: Record<string, string>;
  response_body: string | null;
  error: string | null;
}

interface AttemptFacts {
  delivery: DeliveryView;
  attemptId: string;
  result: AttemptResult;
  /** Why the attempt disabled its endpoint, if it did. */
  disabledBecause: string | null;
  /** The attempt made the delivery's failure run long enough to report it (still being retried). */
  nowFailing: boolean;
}

/** The operational events an attempt causes: the endpoint disabled, or a delivery now failing. */
async function raiseFromAttempt(tx: EntityManager, { delivery, attemptId, result, disabledBecause, nowFailing }: AttemptFacts): Promise<Dispatchable[]> {
  const { endpoint } = delivery;
  const raised: Dispatchable[] = [];
  const about = { appId: endpoint.app.id, endpointId: endpoint.id };
  if (disabledBecause) {
    raised.push(
      ...(await raiseOperationalEvent(
        tx,
        { ...about, type: 'endpoint.disabled', deliveryId: delivery.id, message: `${endpoint.url} was disabled: ${disabledBecause}` },
        attemptId,
        { url: endpoint.url, reason: disabledBecause },
      )),
    );
  }
  if (nowFailing) {
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
