/**
 * WebhookEndpoint: its type, the endpoints query, and the endpoint mutations (create,
 * update, delete, rotate the secret, send a test). The rules live in endpoints.service.ts and
 * tester.ts; a missing endpoint and another app's get the same NOT_FOUND (graphql/common.ts).
 */
import { GraphQLError } from 'graphql';
import { builder } from '../../graphql/builder.ts';
import { TRIAL_EVENT_TYPES } from './catalog.ts';
import { notFound, notFoundError, payloadType } from '../../graphql/common.ts';
import { mayAccess, requireApp, requireCaller, type GraphQLContext } from '../../graphql/context.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import type { FieldError } from '../../core/field-error.ts';
import { endpointInputRules, type EndpointInput } from './endpoints.service.ts';
import { AttemptRef, HttpHeader, asHeaders } from './attempt.graphql.ts';
import type { IDeliveryAttempt } from './webhook-delivery.entity.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';
import { ENDPOINT_FORMATS, type EndpointFormat } from './formats.ts';
import { SegmentKeyEnum } from '../trials/trial.graphql.ts';
import type { SegmentKey } from '../../core/segments.ts';

export const EndpointFormatEnum = builder.enumType('EndpointFormat', {
  description:
    'What a delivery becomes on the wire: standard (signed Standard Webhooks), slack (an incoming-webhook message), segment (identify + track to a Segment-compatible tracking API), hubspot (contact or company properties), customerio (attributes and an event, Track API), template (any HTTP API, the body a JSONata expression makes of the standard payload)',
  values: ENDPOINT_FORMATS,
});

const DestinationRegion = builder.enumType('DestinationRegion', { values: ['us', 'eu'] as const, description: "Customer.io's data center" });

const DestinationInput = builder.inputType('DestinationInput', {
  description:
    "A destination's credentials: write-only (sealed at rest, never returned; fields left out keep what was saved). segment: writeKey; hubspot: accessToken (a private app's); customerio: siteId, apiKey and region (its Track API when no url is given); template: expression",
  fields: (t) => ({
    writeKey: t.string(),
    accessToken: t.string(),
    siteId: t.string(),
    apiKey: t.string(),
    region: t.field({ type: DestinationRegion }),
    expression: t.string({ description: 'template: a JSONata expression over the standard payload, e.g. {"text": trial.user_id & " → " & new_segment}' }),
  }),
});

export const EndpointRef = builder.objectRef<IWebhookEndpoint>('WebhookEndpoint').implement({
  interfaces: [NodeRef],
  description: 'A URL that receives the moves: signed webhooks (Standard Webhooks), or a destination (its format)',
  fields: (t) => ({
    id: t.exposeID('id'),
    appId: t.id({ resolve: (endpoint) => endpoint.app.id }),
    url: t.exposeString('url', {
      description: "The webhook URL; for segment, the tracking API base (Trialcast posts to <url>/v1/batch); for hubspot and customerio, their API's base",
    }),
    format: t.field({ type: EndpointFormatEnum, resolve: (endpoint) => endpoint.format as EndpointFormat }),
    segments: t.field({
      type: [SegmentKeyEnum],
      nullable: true,
      description: 'Only moves into these segments (null: every move)',
      resolve: (endpoint) => (endpoint.segments ?? null) as SegmentKey[] | null,
    }),
    destinationSet: t.boolean({
      description: 'Whether destination credentials are saved (they are never shown)',
      resolve: (endpoint) => endpoint.destination !== null,
    }),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes'),
    headers: t.field({ type: [HttpHeader], resolve: (endpoint) => asHeaders(endpoint.headers) }),
    secret: t.string({
      description: 'whsec_… signing secret (stored sealed with SECRET_KEY)',
      resolve: (endpoint, _args, { services }) => services.webhooks.signingSecret(endpoint),
    }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'During a rotation: until then the secret before the last rotation signs beside the new one (two signatures a request)',
      resolve: (endpoint) => (endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date() ? endpoint.previousSecretExpiresAt : null),
    }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    ordered: t.exposeBoolean('ordered', { description: "One trial's changes arrive in order: a later one waits while an earlier one is retried" }),
    disableAfter: t.exposeString('disableAfter', { description: 'ISO-8601: failing every delivery this long disables the endpoint' }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'Start of the current run of failed attempts' }),
    timeoutMs: t.exposeInt('timeoutMs'),
    maxPerSecond: t.exposeInt('maxPerSecond', {
      nullable: true,
      description: 'At most this many requests a second, a burst spread out in order; null: no throttle',
    }),
    retrySchedule: t.exposeStringList('retrySchedule'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const PreviewedCall = builder.objectRef<{ method: string; url: string; headers: Record<string, string>; body: string }>('PreviewedCall').implement({
  description: 'One HTTP call an attempt makes (credentials masked)',
  fields: (t) => ({
    method: t.exposeString('method'),
    url: t.exposeString('url'),
    headers: t.field({ type: [HttpHeader], resolve: (call) => asHeaders(call.headers) }),
    body: t.exposeString('body'),
  }),
});

type RequestPreviewShape = { calls: Array<{ method: string; url: string; headers: Record<string, string>; body: string }>; error: string | null };
const RequestPreview = builder.objectRef<RequestPreviewShape>('RequestPreview').implement({
  description: "What a sample move's delivery would send to this endpoint, rendered for its format; nothing is sent",
  fields: (t) => ({
    calls: t.field({ type: [PreviewedCall], resolve: (preview) => preview.calls }),
    error: t.exposeString('error', { nullable: true, description: 'Why no request can be made of the sample (a template failing on it)' }),
  }),
});

const EVENT_TYPE_ARG = { defaultValue: 'trial.segment_changed', description: 'A trial.* event type' };

/** A preview's calls, or why there are none (a template failing on the sample, credentials missing). */
async function renderPreview(
  eventType: string | null | undefined,
  render: (type: string) => Promise<RequestPreviewShape['calls']>,
): Promise<RequestPreviewShape> {
  const type = eventType ?? 'trial.segment_changed';
  if (!TRIAL_EVENT_TYPES.includes(type)) throw new GraphQLError(`eventType must be a trial.* event type`, { extensions: { code: 'BAD_USER_INPUT' } });
  try {
    return { calls: await render(type), error: null };
  } catch (error) {
    return { calls: [], error: (error as Error).message };
  }
}

builder.objectFields(EndpointRef, (t) => ({
  requestPreview: t.field({
    type: RequestPreview,
    args: { eventType: t.arg.string(EVENT_TYPE_ARG) },
    resolve: (endpoint, { eventType }, { services }) => renderPreview(eventType, (type) => services.webhooks.previewRequest(endpoint, type)),
  }),
}));

/** The caller's endpoint, or null: another app's is answered as one that does not exist. */
export async function callersEndpoint(ctx: GraphQLContext, endpointId: string): Promise<IWebhookEndpoint | null> {
  requireCaller(ctx.auth);
  const endpoint = await ctx.em.findOne(WebhookEndpoint, { id: endpointId });
  return endpoint && mayAccess(ctx.auth, endpoint.app.id) ? endpoint : null;
}

export const noEndpoint = (endpointId: string) => notFound('endpointId', `no webhook endpoint ${endpointId}`);

builder.queryField('webhookEndpoints', (t) =>
  t.field({
    type: [EndpointRef],
    args: { appId: t.arg.id({ required: true }) },
    resolve: async (_root, { appId }, { auth, em }) => {
      requireApp(auth, appId);
      return em.find(WebhookEndpoint, { app: appId }, { orderBy: { createdAt: 'asc' } });
    },
  }),
);

const EndpointPayload = payloadType<{ endpoint?: IWebhookEndpoint; errors: FieldError[] }>('WebhookEndpointPayload', (t) => ({
  endpoint: t.field({ type: EndpointRef, nullable: true, resolve: (payload) => payload.endpoint ?? null }),
}));

const HeaderInput = builder.inputType('HttpHeaderInput', {
  fields: (t) => ({ name: t.string({ required: true }), value: t.string({ required: true }) }),
});

const endpointFields = (t: any) => ({
  url: t.string({ description: 'Required, but for hubspot and customerio (their own API by default)' }),
  description: t.string(),
  eventTypes: t.stringList({ description: "Default ['trial.segment_changed']; '*' for every type" }),
  headers: t.field({ type: [HeaderInput] }),
  timeoutMs: t.int({ description: '1000 to 30000; default 15000' }),
  maxPerSecond: t.int({ description: '1 to 1000 requests a second at most; 0 removes the throttle; default none' }),
  retrySchedule: t.stringList({ description: 'ISO-8601 delays before each attempt; default the Standard Webhooks schedule' }),
  ordered: t.boolean({ description: "Default true: one trial's changes arrive in order" }),
  disableAfter: t.string({ description: 'ISO-8601; default P5D' }),
  format: t.field({ type: EndpointFormatEnum, description: 'Default standard' }),
  segments: t.field({ type: [SegmentKeyEnum], description: 'Only moves into these segments; an empty list: every move (the default)' }),
  destination: t.field({ type: DestinationInput, description: 'Credentials the format needs; fields left out keep what was saved' }),
});

const CreateInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({ appId: t.id({ required: true }), ...endpointFields(t) }),
  validate: endpointInputRules,
});
const UpdateInput = builder.inputType('UpdateWebhookEndpointInput', {
  fields: (t) => ({ endpointId: t.id({ required: true }), enabled: t.boolean(), ...endpointFields(t) }),
  validate: endpointInputRules,
});
const DraftInput = builder.inputType('WebhookEndpointDraftInput', {
  description: "An endpoint as drafted in the console's form: a new one, or changes to a saved one (endpointId)",
  fields: (t) => ({ appId: t.id({ required: true }), endpointId: t.id({ description: 'The saved endpoint the draft changes' }), ...endpointFields(t) }),
  validate: endpointInputRules,
});
const DeleteInput = builder.inputType('DeleteWebhookEndpointInput', {
  fields: (t) => ({ endpointId: t.id({ required: true }) }),
});

builder.queryField('webhookRequestPreview', (t) =>
  t.field({
    type: RequestPreview,
    description: 'What a sample move would send to an endpoint as drafted, before it is saved (credentials masked); nothing is sent',
    args: { input: t.arg({ type: DraftInput, required: true }), eventType: t.arg.string(EVENT_TYPE_ARG) },
    resolve: async (_root, { input, eventType }, ctx) => {
      requireApp(ctx.auth, input.appId);
      const saved = input.endpointId ? await callersEndpoint(ctx, input.endpointId) : null;
      if (input.endpointId && saved?.app.id !== input.appId) throw notFoundError(`no webhook endpoint ${input.endpointId}`);
      return renderPreview(eventType, (type) => ctx.services.webhooks.previewDraft(input.appId, input as EndpointInput, saved, type));
    },
  }),
);

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: EndpointPayload,
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: async (_root, { input }, { auth, em, services }) => {
      requireApp(auth, input.appId);
      return services.webhooks.createEndpoint(em, input.appId, input as EndpointInput);
    },
  }),
);

builder.mutationField('updateWebhookEndpoint', (t) =>
  t.field({
    type: EndpointPayload,
    description: 'Changes what is given; enabled: false pauses deliveries, true resumes them',
    args: { input: t.arg({ type: UpdateInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await callersEndpoint(ctx, input.endpointId);
      if (!endpoint) return { errors: noEndpoint(input.endpointId) };
      return ctx.services.webhooks.updateEndpoint(ctx.em, endpoint, input as EndpointInput);
    },
  }),
);

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.field({
    type: payloadType<{ deletedId?: string; errors: FieldError[] }>('DeleteWebhookEndpointPayload', (p) => ({
      deletedId: p.exposeID('deletedId', { nullable: true }),
    })),
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await callersEndpoint(ctx, input.endpointId);
      if (!endpoint) return { errors: noEndpoint(input.endpointId) };
      await ctx.em.remove(endpoint).flush();
      return { deletedId: input.endpointId, errors: [] };
    },
  }),
);

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: EndpointPayload,
    description: 'A new secret; the old one keeps signing beside it for 24 hours',
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: async (_root, { endpointId }, ctx) => {
      const endpoint = await callersEndpoint(ctx, endpointId);
      return endpoint ? { endpoint: await ctx.services.webhooks.rotateSecret(ctx.em, endpoint), errors: [] } : { errors: noEndpoint(endpointId) };
    },
  }),
);

builder.mutationField('sendTestWebhook', (t) =>
  t.field({
    type: payloadType<{ attempt: IDeliveryAttempt | null; errors: FieldError[] }>('SendTestWebhookPayload', (p) => ({
      attempt: p.field({ type: AttemptRef, nullable: true, resolve: (payload) => payload.attempt }),
    })),
    description: 'Sends a webhook.test now, once, and returns the attempt (as the built-in tester does)',
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: async (_root, { endpointId }, ctx) => {
      const endpoint = await callersEndpoint(ctx, endpointId);
      return endpoint ? ctx.services.webhooks.sendTest(ctx.em, endpoint) : { attempt: null, errors: noEndpoint(endpointId) };
    },
  }),
);

registerNode('ep_', {
  type: 'WebhookEndpoint',
  load: async (id, { em }) => {
    const endpoint = await em.findOne(WebhookEndpoint, { id });
    return endpoint && { id, appId: endpoint.app.id, node: endpoint };
  },
});
