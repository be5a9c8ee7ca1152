import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { WebhookEndpoint, type EndpointView } from './webhook-endpoint.entity.ts';

/**
 * One message to one endpoint; its id is the `webhook-id` on every attempt. Kept in week partitions of createdAt with
 * its attempts (the delivery_partitions migration; the maintenance makes and drops them, delivery-partitions.ts).
 */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  indexes: [
    { properties: ['endpoint', 'createdAt'] },
    { properties: ['endpoint', 'status', 'createdAt'] },
    { properties: ['trialId', 'status'] },
    { properties: ['segmentChangeId'] },
  ],
  properties: {
    id: p.string().primary(),
    endpoint: () => p.manyToOne(WebhookEndpoint).deleteRule('cascade'),
    eventType: p.string(),
    /** The exact bytes sent (and signed) on every attempt. */
    body: p.text(),
    /** The segment change this delivery tells about; null for webhook.test and operational events. */
    segmentChangeId: p.string().nullable(),
    /** The trial and its per-trial sequence number, for in-order delivery. */
    trialId: p.string().nullable(),
    sequence: p.integer().nullable(),
    /** pending | delivered | failed | held_out (its endpoint's holdout kept it from being sent: recorded, never sent) */
    status: p.string().default('pending'),
    attemptCount: p.integer().default(0),
    /**
     * The partition key (a primary key column, as PostgreSQL requires of one). In milliseconds, as a JavaScript Date
     * holds it: the key read back must find its row again (an attempt's foreign key, an update by primary key).
     */
    createdAt: p
      .datetime(3)
      .primary()
      .onCreate(() => new Date()),
    deliveredAt: p.datetime().nullable(),
  },
});
export type IWebhookDelivery = InferEntity<typeof WebhookDelivery>;

/** A delivery as an attempt is made and recorded with it: a loaded entity, or a plain object made from its row. */
export type DeliveryView = Omit<IWebhookDelivery, 'endpoint'> & { endpoint: EndpointView };

/** One HTTP attempt of a delivery, whatever its outcome. */
export const DeliveryAttempt = defineEntity({
  name: 'DeliveryAttempt',
  tableName: 'delivery_attempts',
  indexes: [{ properties: ['delivery', 'attemptedAt'], name: 'delivery_attempts_delivery_attempted_at_index' }],
  properties: {
    id: p.string().primary(),
    /**
     * (delivery_id, delivery_created_at): an attempt lives in its delivery's week partition, so the two go together.
     * Its foreign key (on delete cascade) is made week by week, between the two weeks' partitions (delivery-partitions.ts):
     * PostgreSQL checks a key against one plain table then, where a key on the partitioned table was checked through
     * a plan made again for every attempt row.
     */
    delivery: () => p.manyToOne(WebhookDelivery).primary().createForeignKeyConstraint(false),
    attemptedAt: p.datetime(),
    durationMs: p.integer(),
    statusCode: p.integer().nullable(),
    responseHeaders: p.json<Record<string, string>>().nullable(),
    responseBody: p.text().nullable(),
    error: p.text().nullable(),
  },
});
export type IDeliveryAttempt = InferEntity<typeof DeliveryAttempt>;
