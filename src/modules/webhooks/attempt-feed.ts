/** Recorded delivery attempts on the live feed (the `deliveryAttemptRecorded` subscription). */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { PgFeed } from '../../infra/pg-feed.ts';
import { DeliveryAttempt, type IDeliveryAttempt } from './webhook-delivery.entity.ts';

/** Notified by the statement that records the attempts (recording.ts). */
export const DELIVERY_ATTEMPT_CHANNEL = 'delivery_attempts';

export function deliveryAttemptChannel(feed: PgFeed, orm: MikroORM) {
  return feed.channel<IDeliveryAttempt>(DELIVERY_ATTEMPT_CHANNEL, (notice) =>
    orm.em.fork().findOne(DeliveryAttempt, { id: (notice as { id: string }).id }, { populate: ['delivery'] }),
  );
}
