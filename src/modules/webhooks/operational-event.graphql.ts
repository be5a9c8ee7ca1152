/** WebhookOperationalEvent: what an app's operators should know about its webhooks, live. */
import { builder } from '../../graphql/builder.ts';
import { requireApp } from '../../graphql/context.ts';
import { OPERATIONAL_EVENT_TYPES, type OperationalEvent, type OperationalEventType } from './catalog.ts';

const OperationalEventTypeEnum = builder.enumType('OperationalEventType', {
  values: Object.fromEntries(OPERATIONAL_EVENT_TYPES.map((type) => [type.replace('.', '_').toUpperCase(), { value: type }])) as Record<
    string,
    { value: OperationalEventType }
  >,
});

const OperationalEventRef = builder.objectRef<OperationalEvent>('WebhookOperationalEvent').implement({
  description: "Something an operator should know about the app's webhooks (also sent to its other endpoints)",
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.field({ type: OperationalEventTypeEnum, resolve: (event) => event.type }),
    endpointId: t.exposeID('endpointId'),
    deliveryId: t.exposeID('deliveryId', { nullable: true }),
    message: t.exposeString('message'),
    occurredAt: t.string({ resolve: (event) => event.occurredAt }),
  }),
});

builder.subscriptionField('webhookOperationalEvents', (t) =>
  t.field({
    type: OperationalEventRef,
    description: 'endpoint.disabled, delivery.failing and delivery.exhausted for the app, live',
    args: { appId: t.arg.id({ required: true }) },
    subscribe: (_root, { appId }, { auth, services }) => {
      requireApp(auth, appId);
      return services.feeds.operationalEvents.subscribe((event) => event.appId === appId);
    },
    resolve: (event) => event,
  }),
);
