import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';

/** A URL of the app's that receives its moves: signed webhooks, or a destination's own API (its `format`). */
export const WebhookEndpoint = defineEntity({
  name: 'WebhookEndpoint',
  tableName: 'webhook_endpoints',
  properties: {
    id: p.string().primary(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    url: p.text(),
    /** What a delivery becomes on the wire: `standard` (signed webhooks), `slack`, `segment` (formats.ts). */
    format: p.string().default('standard'),
    /** A destination's credentials (a Segment write key), sealed with the server's key; never returned or logged. */
    destination: p.text().nullable(),
    description: p.string().nullable(),
    /** Event types delivered; empty means all. */
    eventTypes: p.json<string[]>(),
    /** Only moves into these segments (null: every move), as a Zapier trigger's segment filter asks. */
    segments: p.json<string[]>().nullable(),
    /** Static headers added to every request, as Segment's destination allows. */
    headers: p.json<Record<string, string>>(),
    /** The `whsec_…` signing secret, sealed with the server's key (signing-secrets.ts); never logged. */
    secret: p.string(),
    /** The secret before the last rotation, sealed too: it keeps signing until previousSecretExpiresAt. */
    previousSecret: p.string().nullable(),
    previousSecretExpiresAt: p.datetime().nullable(),
    /** One attempt's time limit, 1 to 30 s. */
    timeoutMs: p.integer().default(15000),
    /** ISO-8601 delays before each attempt (the first is usually PT0S). */
    retrySchedule: p.json<string[]>(),
    /** Whether one trial's changes reach this endpoint in order (a later one waits for an earlier one's retries). */
    ordered: p.boolean().default(true),
    /** ISO-8601: an endpoint that fails every delivery for this long is disabled. */
    disableAfter: p.string().default('P5D'),
    /** When the current run of failures began; null after a success. */
    failingSince: p.datetime().nullable(),
    enabled: p.boolean().default(true),
    disabledReason: p.string().nullable(),
    /** At most this many requests a second (throttle.ts); null: as fast as moves come. */
    maxPerSecond: p.integer().nullable(),
    /** The throttle's state (throttle.ts): its last send, and the end of the slots it handed out. */
    throttleLastSentAt: p.datetime().nullable().lazy(),
    throttleReservedUntil: p.datetime().nullable().lazy(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IWebhookEndpoint = InferEntity<typeof WebhookEndpoint>;

/**
 * An endpoint as an attempt is made and recorded with it: a loaded entity, or a plain object made from its row
 * (pending-deliveries.ts: mapping a change's rows into entities was 6 % of the worker's busy time under load).
 */
export type EndpointView = Omit<IWebhookEndpoint, 'app' | 'throttleLastSentAt' | 'throttleReservedUntil'> & { app: { id: string } };
