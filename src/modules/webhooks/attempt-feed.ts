/** Recorded delivery attempts on the live feed (the `deliveryAttemptRecorded` subscription). */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { notify, type PgFeed } from '../../infra/pg-feed.ts';
import { DeliveryAttempt, type IDeliveryAttempt } from './webhook-delivery.entity.ts';

const CHANNEL = 'delivery_attempts';

/** Inside the transaction that records the attempts. */
export async function notifyAttempts(em: EntityManager, attempts: Array<{ id: string; endpointId: string }>): Promise<void> {
  await notify(em, CHANNEL, ...attempts);
}

export function deliveryAttemptChannel(feed: PgFeed, orm: MikroORM) {
  return feed.channel<IDeliveryAttempt>(CHANNEL, (notice) =>
    orm.em.fork().findOne(DeliveryAttempt, { id: (notice as { id: string }).id }, { populate: ['delivery'] }),
  );
}
