/**
 * The built-in webhook tester: a `webhook.test` sent now, once, recorded like any attempt.
 * It posts to a URL of the caller's choice, so a few a minute an endpoint is all it sends.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldError } from '../../core/field-error.ts';
import { newId } from '../../ids.ts';
import { attemptDelivery } from './attempts.ts';
import { testEventBody } from './catalog.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { insertDeliveries } from './planning.ts';
import { DeliveryAttempt, WebhookDelivery, type IDeliveryAttempt } from './webhook-delivery.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';

export const TEST_WEBHOOKS_PER_MINUTE = 10;

export async function sendTestWebhook(
  deps: DeliveryDeps,
  em: EntityManager,
  endpoint: IWebhookEndpoint,
): Promise<{ attempt: IDeliveryAttempt | null; errors: FieldError[] }> {
  if (!endpoint.enabled) return { attempt: null, errors: [{ field: 'endpointId', message: 'the endpoint is disabled', code: 'DISABLED' }] };
  // Counted in the database, so the limit holds across API processes.
  const recent = await em.count(WebhookDelivery, { endpoint, eventType: 'webhook.test', createdAt: { $gt: new Date(Date.now() - 60_000) } });
  if (recent >= TEST_WEBHOOKS_PER_MINUTE) {
    return {
      attempt: null,
      errors: [
        {
          field: 'endpointId',
          message: `at most ${TEST_WEBHOOKS_PER_MINUTE} test webhooks a minute to one endpoint; try again in a minute`,
          code: 'RATE_LIMITED',
        },
      ],
    };
  }
  const id = newId('msg');
  await insertDeliveries(em, [
    { id, endpointId: endpoint.id, eventType: 'webhook.test', body: testEventBody(id, { id: endpoint.id, appId: endpoint.app.id }, new Date()) },
  ]);
  const { attemptId } = await attemptDelivery(deps, id);
  return { attempt: attemptId === null ? null : await em.findOneOrFail(DeliveryAttempt, { id: attemptId }), errors: [] };
}
