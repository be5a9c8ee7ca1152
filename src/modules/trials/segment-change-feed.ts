/** Recorded transitions on the live feed: the notice carries ids; the change is loaded once per process. */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { notify, type PgFeed } from '../../infra/pg-feed.ts';
import { SegmentChange, type ISegmentChange } from './segment-change.entity.ts';

const CHANNEL = 'segment_changes';

export async function notifySegmentChange(em: EntityManager, notice: { id: string; appId: string; trialId: string }): Promise<void> {
  await notify(em, CHANNEL, notice);
}

export function segmentChangeChannel(feed: PgFeed, orm: MikroORM) {
  return feed.channel<ISegmentChange>(CHANNEL, (notice) =>
    orm.em.fork().findOne(SegmentChange, { id: (notice as { id: string }).id }, { populate: ['trial'] }),
  );
}
