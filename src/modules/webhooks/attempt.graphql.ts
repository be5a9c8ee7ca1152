/** DeliveryAttempt: one HTTP attempt of a delivery, as recorded. */
import { builder } from '../../graphql/builder.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import { DeliveryAttempt, type IDeliveryAttempt } from './webhook-delivery.entity.ts';

export const HttpHeader = builder.objectRef<{ name: string; value: string }>('HttpHeader').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});
export const asHeaders = (record: Record<string, string> | null | undefined) => Object.entries(record ?? {}).map(([name, value]) => ({ name, value }));

export const AttemptRef = builder.objectRef<IDeliveryAttempt>('DeliveryAttempt').implement({
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

registerNode('att_', {
  type: 'DeliveryAttempt',
  load: async (id, { em }) => {
    const attempt = await em.findOne(DeliveryAttempt, { id }, { populate: ['delivery.endpoint'] });
    return attempt && { id, appId: attempt.delivery.endpoint.app.id, node: attempt };
  },
});
