/** Recorded transitions on the live feed: the notice carries ids; the change is loaded once per process. */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { PgFeed } from '../../infra/pg-feed.ts';
import { SegmentChange, type ISegmentChange } from './segment-change.entity.ts';

export const SEGMENT_CHANGE_CHANNEL = 'segment_changes';

export function segmentChangeChannel(feed: PgFeed, orm: MikroORM) {
  return feed.channel<ISegmentChange>(SEGMENT_CHANGE_CHANNEL, (notice) =>
    orm.em.fork().findOne(SegmentChange, { id: (notice as { id: string }).id }, { populate: ['trial'] }),
  );
}
