/**
 * The webhooks service as the API layer uses it, built once with the delivery pipeline's
 * dependencies: endpoints (checked against SSRF on save), the tester, redelivery.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { DeliveryDeps } from './delivery-deps.ts';
import { createEndpoint, draftTarget, rotateSecret, updateEndpoint, type EndpointInput } from './endpoints.service.ts';
import { redeliver, redeliverFailed } from './redelivery.ts';
import { sendTestWebhook } from './tester.ts';
import { previewRequest, targetOf } from './sending.ts';
import { openSigningSecret } from './signing-secrets.ts';
import { sampleChangeBody } from './catalog.ts';
import type { IWebhookDelivery } from './webhook-delivery.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';

export function createWebhooks(deps: DeliveryDeps) {
  return {
    createEndpoint: (em: EntityManager, appId: string, input: EndpointInput) => createEndpoint(em, appId, input, deps),
    updateEndpoint: (em: EntityManager, endpoint: IWebhookEndpoint, input: EndpointInput) => updateEndpoint(em, endpoint, input, deps),
    rotateSecret: (em: EntityManager, endpoint: IWebhookEndpoint) => rotateSecret(em, endpoint, deps.secrets),
    /** The endpoint's current signing secret, opened (shown to the app's owner). */
    signingSecret: (endpoint: IWebhookEndpoint) => openSigningSecret(endpoint.secret, deps.secrets),
    /** The request a sample move of this type would make (rendered, nothing sent). */
    previewRequest: (endpoint: IWebhookEndpoint, eventType: string) =>
      previewRequest(targetOf(endpoint, deps.secrets, new Date()), sampleChangeBody(endpoint.app.id, eventType), deps.publicUrl, new Date()),
    /** The same for an endpoint as drafted in the console's form (`current`: the saved one it edits), before it is saved. */
    previewDraft: async (appId: string, input: EndpointInput, current: IWebhookEndpoint | null, eventType: string) => {
      const target = draftTarget(input, current, deps.secrets, new Date());
      if ('problem' in target) throw new Error(target.problem);
      return previewRequest(target, sampleChangeBody(appId, eventType), deps.publicUrl, new Date());
    },
    sendTest: (em: EntityManager, endpoint: IWebhookEndpoint) => sendTestWebhook(deps, em, endpoint),
    redeliver: (em: EntityManager, delivery: IWebhookDelivery) => redeliver(deps, em, delivery),
    redeliverFailed: (em: EntityManager, endpoint: IWebhookEndpoint, since: Date) => redeliverFailed(deps, em, endpoint, since),
  };
}

export type Webhooks = ReturnType<typeof createWebhooks>;
