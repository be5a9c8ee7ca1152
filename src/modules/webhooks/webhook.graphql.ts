import { GraphQLError } from 'graphql';
import { builder } from '../../graphql/builder.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import { after, connectionOf, pageSize, toPage } from '../../graphql/connection.ts';
import { MutationError } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { mayAccess, requireApp, requireCaller, type GraphQLContext } from '../../graphql/context.ts';
import { loaderFor } from '../../graphql/batch-loader.ts';
import { TrialRef } from '../trials/trial.graphql.ts';
import { newId } from '../../ids.ts';
import { attemptDelivery, dispatchable, dispatchDeliveries, type DeliveryDeps } from './deliveries.service.ts';
import { OPERATIONAL_EVENT_TYPES, type OperationalEvent, type OperationalEventType } from './operational-events.ts';
import { createEndpoint, endpointInputRules, rotateSecret, updateEndpoint, type EndpointInput } from './endpoints.service.ts';
import { DeliveryAttempt, WebhookDelivery, type IDeliveryAttempt, type IWebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';

const HttpHeader = builder.objectRef<{ name: string; value: string }>('HttpHeader').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});
const asHeaders = (record: Record<string, string> | null | undefined) => Object.entries(record ?? {}).map(([name, value]) => ({ name, value }));

const EndpointRef = builder.objectRef<IWebhookEndpoint>('WebhookEndpoint').implement({
  interfaces: [NodeRef],
  description: 'A URL that receives signed webhooks (Standard Webhooks)',
  fields: (t) => ({
    id: t.exposeID('id'),
    appId: t.id({ resolve: (endpoint) => endpoint.app.id }),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes'),
    headers: t.field({ type: [HttpHeader], resolve: (endpoint) => asHeaders(endpoint.headers) }),
    secret: t.exposeString('secret', { description: 'whsec_… signing secret' }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    ordered: t.exposeBoolean('ordered', { description: "One trial's changes arrive in order: a later one waits while an earlier one is retried" }),
    disableAfter: t.exposeString('disableAfter', { description: 'ISO-8601: failing every delivery this long disables the endpoint' }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'Start of the current run of failed attempts' }),
    timeoutMs: t.exposeInt('timeoutMs'),
    retrySchedule: t.exposeStringList('retrySchedule'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const AttemptRef = builder.objectRef<IDeliveryAttempt>('DeliveryAttempt').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id'),
    deliveryId: t.id({ resolve: (attempt) => attempt.delivery.id, description: 'Also the webhook-id' }),
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs'),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    responseHeaders: t.field({ type: [HttpHeader], resolve: (attempt) => asHeaders(attempt.responseHeaders) }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'Truncated at 16 KB' }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const DeliveryStatus = builder.enumType('DeliveryStatus', { values: ['pending', 'delivered', 'failed'] as const });

const DeliveryRef = builder.objectRef<IWebhookDelivery>('WebhookDelivery').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the webhook-id header, the same on every attempt' }),
    endpointId: t.id({ resolve: (delivery) => delivery.endpoint.id }),
    eventType: t.exposeString('eventType'),
    status: t.field({ type: DeliveryStatus, resolve: (delivery) => delivery.status as 'pending' | 'delivered' | 'failed' }),
    payload: t.exposeString('body', { description: 'The exact JSON body sent' }),
    attemptCount: t.exposeInt('attemptCount'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    attempts: t.field({
      type: [AttemptRef],
      resolve: (delivery, _args, { em }) => em.find(DeliveryAttempt, { delivery: delivery.id }, { orderBy: { attemptedAt: 'asc' } }),
    }),
  }),
});

const DeliveryConnection = connectionOf('WebhookDelivery', DeliveryRef);

type DeliveryCounts = Record<'pending' | 'delivered' | 'failed', number>;

const DeliveryCountsRef = builder.objectRef<DeliveryCounts>('DeliveryCounts').implement({
  description: "A trial's webhook deliveries to its app's endpoints, by status",
  fields: (t) => ({ pending: t.exposeInt('pending'), delivered: t.exposeInt('delivered'), failed: t.exposeInt('failed') }),
});

builder.objectFields(TrialRef, (t) => ({
  deliveryCounts: t.field({
    type: DeliveryCountsRef,
    // One grouped query for every trial of the request (a page of 100 costs one query, not 100).
    resolve: async (trial, _args, ctx) =>
      (await loaderFor<string, DeliveryCounts>(ctx, 'deliveryCountsByTrial', async (trialIds) => {
        const rows: Array<{ trial_id: string; status: keyof DeliveryCounts; count: number }> = await ctx.em.execute(
          `select trial_id, status, count(*)::int as count from webhook_deliveries
            where trial_id in (select jsonb_array_elements_text(cast(? as jsonb))) group by trial_id, status`,
          [JSON.stringify(trialIds)],
        );
        const counts = new Map<string, DeliveryCounts>(trialIds.map((id) => [id, { pending: 0, delivered: 0, failed: 0 }]));
        for (const row of rows) counts.get(row.trial_id)![row.status] = row.count;
        return counts;
      }).load(trial.id))!,
  }),
}));

const deliveryDeps = ({ services }: GraphQLContext): DeliveryDeps => ({ orm: services.orm, temporal: services.temporal, taskQueue: services.taskQueue, allowPrivate: services.webhookAllowPrivateTargets });

/** The caller's endpoint; another app's is answered as one that does not exist (ids do not tell what exists). */
async function endpointFor(ctx: GraphQLContext, endpointId: string): Promise<IWebhookEndpoint> {
  requireCaller(ctx.auth);
  const endpoint = await ctx.em.findOne(WebhookEndpoint, { id: endpointId });
  if (!endpoint || !mayAccess(ctx.auth, endpoint.app.id)) throw new GraphQLError(`no webhook endpoint ${endpointId}`, { extensions: { code: 'NOT_FOUND' } });
  return endpoint;
}

builder.queryField('webhookEndpoints', (t) =>
  t.field({
    type: [EndpointRef],
    args: { appId: t.arg.id({ required: true }) },
    resolve: async (_root, { appId }, { auth, em }) => {
      requireApp(auth, String(appId));
      return em.find(WebhookEndpoint, { app: String(appId) }, { orderBy: { createdAt: 'asc' } });
    },
  }),
);

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
      const endpoint = await endpointFor(ctx, String(args.endpointId));
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

const EndpointPayload = builder.objectRef<{ endpoint?: IWebhookEndpoint; errors: FieldError[] }>('WebhookEndpointPayload').implement({
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef, nullable: true, resolve: (payload) => payload.endpoint ?? null }),
    errors: t.field({ type: [MutationError], resolve: (payload) => payload.errors }),
  }),
});

const HeaderInput = builder.inputType('HttpHeaderInput', {
  fields: (t) => ({ name: t.string({ required: true }), value: t.string({ required: true }) }),
});

const endpointFields = (t: any) => ({
  url: t.string(),
  description: t.string(),
  eventTypes: t.stringList({ description: "Default ['trial.segment_changed']; '*' for every type" }),
  headers: t.field({ type: [HeaderInput] }),
  timeoutMs: t.int({ description: '1000 to 30000; default 15000' }),
  retrySchedule: t.stringList({ description: 'ISO-8601 delays before each attempt; default the Standard Webhooks schedule' }),
  ordered: t.boolean({ description: "Default true: one trial's changes arrive in order" }),
  disableAfter: t.string({ description: 'ISO-8601; default P5D' }),
});

const CreateInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({ appId: t.id({ required: true }), ...endpointFields(t) }),
  validate: endpointInputRules,
});
const UpdateInput = builder.inputType('UpdateWebhookEndpointInput', {
  fields: (t) => ({ endpointId: t.id({ required: true }), enabled: t.boolean(), ...endpointFields(t) }),
  validate: endpointInputRules,
});
const DeleteInput = builder.inputType('DeleteWebhookEndpointInput', {
  fields: (t) => ({ endpointId: t.id({ required: true }) }),
});

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: EndpointPayload,
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: async (_root, { input }, { auth, em, services }) => {
      requireApp(auth, String(input.appId));
      return createEndpoint(em, String(input.appId), input as EndpointInput, services.webhookAllowPrivateTargets);
    },
  }),
);

builder.mutationField('updateWebhookEndpoint', (t) =>
  t.field({
    type: EndpointPayload,
    description: 'Changes what is given; enabled: false pauses deliveries, true resumes them',
    args: { input: t.arg({ type: UpdateInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await endpointFor(ctx, String(input.endpointId));
      return updateEndpoint(ctx.em, endpoint, input as EndpointInput, ctx.services.webhookAllowPrivateTargets);
    },
  }),
);

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.field({
    type: builder.objectRef<{ deletedId: string; errors: FieldError[] }>('DeleteWebhookEndpointPayload').implement({
      fields: (p) => ({ deletedId: p.exposeID('deletedId'), errors: p.field({ type: [MutationError], resolve: (payload) => payload.errors }) }),
    }),
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await endpointFor(ctx, String(input.endpointId));
      await ctx.em.remove(endpoint).flush();
      return { deletedId: String(input.endpointId), errors: [] };
    },
  }),
);

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: EndpointPayload,
    description: 'A new secret; the old one keeps signing beside it for 24 hours',
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: async (_root, { endpointId }, ctx) => ({ endpoint: await rotateSecret(ctx.em, await endpointFor(ctx, String(endpointId))), errors: [] }),
  }),
);

/** The tester posts to a URL of the caller's choice: a few a minute is what a person testing needs. */
const TEST_WEBHOOKS_PER_MINUTE = 10;

builder.mutationField('sendTestWebhook', (t) =>
  t.field({
    type: builder.objectRef<{ attempt: IDeliveryAttempt | null; errors: FieldError[] }>('SendTestWebhookPayload').implement({
      fields: (p) => ({
        attempt: p.field({ type: AttemptRef, nullable: true, resolve: (payload) => payload.attempt }),
        errors: p.field({ type: [MutationError], resolve: (payload) => payload.errors }),
      }),
    }),
    description: 'Sends a webhook.test now, once, and returns the attempt (as the built-in tester does)',
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: async (_root, { endpointId }, ctx) => {
      const endpoint = await endpointFor(ctx, String(endpointId));
      if (!endpoint.enabled) return { attempt: null, errors: [{ field: 'endpointId', message: 'the endpoint is disabled', code: 'DISABLED' }] };
      // Counted in the database, so the limit holds across API processes.
      const recent = await ctx.em.count(WebhookDelivery, { endpoint, eventType: 'webhook.test', createdAt: { $gt: new Date(Date.now() - 60_000) } });
      if (recent >= TEST_WEBHOOKS_PER_MINUTE) {
        return { attempt: null, errors: [{ field: 'endpointId', message: `at most ${TEST_WEBHOOKS_PER_MINUTE} test webhooks a minute to one endpoint; try again in a minute`, code: 'RATE_LIMITED' }] };
      }
      const id = newId('msg');
      ctx.em.create(WebhookDelivery, {
        id,
        endpoint,
        eventType: 'webhook.test',
        body: JSON.stringify({ id: `evt_${id.slice(4)}`, event: 'webhook.test', app_id: endpoint.app.id, endpoint_id: endpoint.id, occurred_at: new Date().toISOString() }),
        segmentChangeId: null,
      });
      await ctx.em.flush();
      const { attempt } = await attemptDelivery(deliveryDeps(ctx), id);
      return { attempt, errors: [] };
    },
  }),
);

builder.mutationField('redeliver', (t) =>
  t.field({
    type: builder.objectRef<{ delivery?: IWebhookDelivery; errors: FieldError[] }>('RedeliverPayload').implement({
      fields: (p) => ({
        delivery: p.field({ type: DeliveryRef, nullable: true, resolve: (payload) => payload.delivery ?? null }),
        errors: p.field({ type: [MutationError], resolve: (payload) => payload.errors }),
      }),
    }),
    description: 'Sends one delivery again, same body and webhook-id, on its endpoint’s schedule',
    args: { deliveryId: t.arg.id({ required: true }) },
    resolve: async (_root, { deliveryId }, ctx) => {
      requireCaller(ctx.auth);
      const delivery = await ctx.em.findOne(WebhookDelivery, { id: String(deliveryId) }, { populate: ['endpoint'] });
      if (!delivery || !mayAccess(ctx.auth, delivery.endpoint.app.id)) return { errors: [{ field: 'deliveryId', message: `no delivery ${deliveryId}`, code: 'NOT_FOUND' }] };
      if (!delivery.endpoint.enabled) return { errors: [{ field: 'deliveryId', message: 'its endpoint is disabled; enable it first', code: 'DISABLED' }] };
      delivery.status = 'pending';
      await ctx.em.flush();
      await dispatchDeliveries(ctx.services.temporal, ctx.services.taskQueue, [dispatchable(delivery)]);
      return { delivery, errors: [] };
    },
  }),
);

/** Redeliveries are handed over this many at a time (each lane keeps its own order). */
const REDELIVER_LIMIT = 10_000;

builder.mutationField('redeliverFailed', (t) =>
  t.field({
    type: builder.objectRef<{ count: number; errors: FieldError[] }>('RedeliverFailedPayload').implement({
      fields: (p) => ({
        count: p.exposeInt('count', { description: 'Deliveries sent again' }),
        errors: p.field({ type: [MutationError], resolve: (payload) => payload.errors }),
      }),
    }),
    description: "Replays an outage: every failed delivery of the endpoint since a time, oldest first, each with its own webhook-id",
    args: { endpointId: t.arg.id({ required: true }), since: t.arg({ type: 'DateTime', required: true }) },
    resolve: async (_root, { endpointId, since }, ctx) => {
      const endpoint = await endpointFor(ctx, String(endpointId));
      if (!endpoint.enabled) return { count: 0, errors: [{ field: 'endpointId', message: 'the endpoint is disabled; enable it first', code: 'DISABLED' }] };
      const failed = await ctx.em.find(WebhookDelivery, { endpoint, status: 'failed', createdAt: { $gte: since } }, { orderBy: { createdAt: 'asc', sequence: 'asc' }, limit: REDELIVER_LIMIT });
      if (failed.length === 0) return { count: 0, errors: [] };
      await ctx.em.nativeUpdate(WebhookDelivery, { id: { $in: failed.map((delivery) => delivery.id) } }, { status: 'pending' });
      await dispatchDeliveries(ctx.services.temporal, ctx.services.taskQueue, failed.map(dispatchable));
      return { count: failed.length, errors: [] };
    },
  }),
);

const OperationalEventTypeEnum = builder.enumType('OperationalEventType', {
  values: Object.fromEntries(OPERATIONAL_EVENT_TYPES.map((type) => [type.replace('.', '_').toUpperCase(), { value: type }])) as Record<string, { value: OperationalEventType }>,
});

const OperationalEventRef = builder.objectRef<OperationalEvent>('WebhookOperationalEvent').implement({
  description: 'Something an operator should know about the app\'s webhooks (also sent to its other endpoints)',
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
    subscribe: (_root, args, { auth, services }) => {
      const appId = String(args.appId);
      requireApp(auth, appId);
      return services.operationalEvents.subscribe((event) => event.appId === appId);
    },
    resolve: (event) => event,
  }),
);

builder.subscriptionField('deliveryAttemptRecorded', (t) =>
  t.field({
    type: AttemptRef,
    description: "Each attempt to the endpoint as it is recorded (first attempts, retries, tests), live",
    args: { endpointId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const endpoint = await endpointFor(ctx, String(args.endpointId));
      return ctx.services.deliveryAttempts.subscribe((attempt) => attempt.delivery.endpoint.id === endpoint.id);
    },
    resolve: (attempt) => attempt,
  }),
);

registerNode('ep_', {
  type: 'WebhookEndpoint',
  load: async (id, { em }) => {
    const endpoint = await em.findOne(WebhookEndpoint, { id });
    return endpoint && { id, appId: endpoint.app.id, node: endpoint };
  },
});
registerNode('msg_', {
  type: 'WebhookDelivery',
  load: async (id, { em }) => {
    const delivery = await em.findOne(WebhookDelivery, { id }, { populate: ['endpoint'] });
    return delivery && { id, appId: delivery.endpoint.app.id, node: delivery };
  },
});
registerNode('att_', {
  type: 'DeliveryAttempt',
  load: async (id, { em }) => {
    const attempt = await em.findOne(DeliveryAttempt, { id }, { populate: ['delivery.endpoint'] });
    return attempt && { id, appId: attempt.delivery.endpoint.app.id, node: attempt };
  },
});
