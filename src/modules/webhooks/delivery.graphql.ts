/**
 * WebhookDelivery: its type (with its attempts, batched), the deliveries query, a trial's
 * delivery counts, redelivery, and the live attempts of an endpoint.
 */
import { builder } from '../../graphql/builder.ts';
import { loaderFor } from '../../graphql/batch-loader.ts';
import { notFound, notFoundError, payloadType } from '../../graphql/common.ts';
import { after, connectionOf, pageSize, toPage } from '../../graphql/connection.ts';
import { mayAccess, requireCaller } from '../../graphql/context.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import type { FieldError } from '../../core/field-error.ts';
import { SegmentChangeRef, TrialRef } from '../trials/trial.graphql.ts';
import { AttemptRef } from './attempt.graphql.ts';
import { callersEndpoint, EndpointRef, noEndpoint } from './endpoint.graphql.ts';
import { attemptsByDelivery, deliveriesByChange, deliveryCountsByTrial, type DeliveryCounts } from './delivery.queries.ts';
import { WebhookDelivery, type IDeliveryAttempt, type IWebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';

const DeliveryStatus = builder.enumType('DeliveryStatus', {
  values: ['pending', 'delivered', 'failed', 'held_out'] as const,
  description: "held_out: the endpoint's holdout kept it from being sent (recorded with its body, never sent, retried or redelivered)",
});

const DeliveryRef = builder.objectRef<IWebhookDelivery>('WebhookDelivery').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the webhook-id header, the same on every attempt' }),
    endpointId: t.id({ resolve: (delivery) => delivery.endpoint.id }),
    endpoint: t.field({
      type: EndpointRef,
      description: 'The endpoint it is sent to (its URL and description)',
      resolve: async (delivery, _args, ctx) =>
        (await loaderFor<string, IWebhookEndpoint>(ctx, 'endpointsById', async (ids) => {
          const endpoints = await ctx.em.find(WebhookEndpoint, { id: { $in: ids } });
          return new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]));
        }).load(delivery.endpoint.id))!,
    }),
    eventType: t.exposeString('eventType'),
    status: t.field({ type: DeliveryStatus, resolve: (delivery) => delivery.status as 'pending' | 'delivered' | 'failed' | 'held_out' }),
    payload: t.exposeString('body', { description: 'The exact JSON body sent (held out: the one that would have been)' }),
    attemptCount: t.exposeInt('attemptCount'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    attempts: t.field({
      type: [AttemptRef],
      description: 'Oldest first',
      // One query for every delivery of the request (a page of 100 costs one query, not 100).
      resolve: async (delivery, _args, ctx) =>
        (await loaderFor<string, IDeliveryAttempt[]>(ctx, 'attemptsByDelivery', (deliveryIds) => attemptsByDelivery(ctx.em, deliveryIds)).load(delivery.id)) ??
        [],
    }),
  }),
});

const DeliveryConnection = connectionOf('WebhookDelivery', DeliveryRef);

const DeliveryCountsRef = builder.objectRef<DeliveryCounts>('DeliveryCounts').implement({
  description: "A trial's webhook deliveries to its app's endpoints, by status",
  fields: (t) => ({
    pending: t.exposeInt('pending'),
    delivered: t.exposeInt('delivered'),
    failed: t.exposeInt('failed'),
    heldOut: t.exposeInt('held_out'),
  }),
});

builder.objectFields(TrialRef, (t) => ({
  deliveryCounts: t.field({
    type: DeliveryCountsRef,
    // One grouped query for every trial of the request (a page of 100 costs one query, not 100).
    resolve: async (trial, _args, ctx) =>
      (await loaderFor<string, DeliveryCounts>(ctx, 'deliveryCountsByTrial', (trialIds) => deliveryCountsByTrial(ctx.em, trialIds)).load(trial.id))!,
  }),
}));

builder.objectFields(SegmentChangeRef, (t) => ({
  deliveries: t.field({
    type: [DeliveryRef],
    description: 'The webhooks this move caused, one per endpoint, with their attempts',
    // One query for every change of the request.
    resolve: async (change, _args, ctx) =>
      (await loaderFor<string, IWebhookDelivery[]>(ctx, 'deliveriesByChange', (ids) => deliveriesByChange(ctx.em, ids)).load(change.id)) ?? [],
  }),
}));

builder.queryField('deliveries', (t) =>
  t.field({
    type: DeliveryConnection,
    description: 'Newest first, with their attempts; at most 100 a page',
    args: {
      endpointId: t.arg.id({ required: true }),
      status: t.arg({ type: DeliveryStatus }),
      since: t.arg({ type: 'DateTime', description: 'Created at or after this time' }),
      until: t.arg({ type: 'DateTime', description: 'Created before this time' }),
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      const endpoint = await callersEndpoint(ctx, args.endpointId);
      if (!endpoint) throw notFoundError(`no webhook endpoint ${args.endpointId}`);
      const first = pageSize(args.first);
      const rows = await ctx.em.find(
        WebhookDelivery,
        {
          endpoint,
          ...(args.status ? { status: args.status } : {}),
          ...(args.since || args.until ? { createdAt: { ...(args.since ? { $gte: args.since } : {}), ...(args.until ? { $lt: args.until } : {}) } } : {}),
          ...(args.after ? { $and: [after(args.after)] } : {}),
        },
        { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 },
      );
      return toPage(rows, first);
    },
  }),
);

builder.mutationField('redeliver', (t) =>
  t.field({
    type: payloadType<{ delivery?: IWebhookDelivery; errors: FieldError[] }>('RedeliverPayload', (p) => ({
      delivery: p.field({ type: DeliveryRef, nullable: true, resolve: (payload) => payload.delivery ?? null }),
    })),
    description: 'Sends one delivery again, same body and webhook-id, on its endpoint’s schedule',
    args: { deliveryId: t.arg.id({ required: true }) },
    resolve: async (_root, { deliveryId }, ctx) => {
      requireCaller(ctx.auth);
      const delivery = await ctx.em.findOne(WebhookDelivery, { id: deliveryId }, { populate: ['endpoint'] });
      if (!delivery || !mayAccess(ctx.auth, delivery.endpoint.app.id)) return { errors: notFound('deliveryId', `no delivery ${deliveryId}`) };
      return ctx.services.webhooks.redeliver(ctx.em, delivery);
    },
  }),
);

builder.mutationField('redeliverFailed', (t) =>
  t.field({
    type: payloadType<{ count: number; errors: FieldError[] }>('RedeliverFailedPayload', (p) => ({
      count: p.exposeInt('count', { description: 'Deliveries sent again' }),
    })),
    description: 'Replays an outage: every failed delivery of the endpoint since a time, oldest first, each with its own webhook-id',
    args: { endpointId: t.arg.id({ required: true }), since: t.arg({ type: 'DateTime', required: true }) },
    resolve: async (_root, { endpointId, since }, ctx) => {
      const endpoint = await callersEndpoint(ctx, endpointId);
      return endpoint ? ctx.services.webhooks.redeliverFailed(ctx.em, endpoint, since) : { count: 0, errors: noEndpoint(endpointId) };
    },
  }),
);

builder.subscriptionField('deliveryAttemptRecorded', (t) =>
  t.field({
    type: AttemptRef,
    description: 'Each attempt to the endpoint as it is recorded (first attempts, retries, tests), live',
    args: { endpointId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const endpoint = await callersEndpoint(ctx, args.endpointId);
      if (!endpoint) throw notFoundError(`no webhook endpoint ${args.endpointId}`);
      return ctx.services.feeds.deliveryAttempts.subscribe((attempt) => attempt.delivery.endpoint.id === endpoint.id);
    },
    resolve: (attempt) => attempt,
  }),
);

registerNode('msg_', {
  type: 'WebhookDelivery',
  load: async (id, { em }) => {
    const delivery = await em.findOne(WebhookDelivery, { id }, { populate: ['endpoint'] });
    return delivery && { id, appId: delivery.endpoint.app.id, node: delivery };
  },
});
