/** Read-side queries of the trials module. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SEGMENT_KEYS, type SegmentKey } from '../../core/segments.ts';
import { Trial, type ITrial } from './trial.entity.ts';

/** How many of the app's trials are in each segment now (every segment, zeros included). */
export async function segmentCounts(em: EntityManager, appId: string): Promise<Array<{ key: SegmentKey; trials: number }>> {
  const rows: Array<{ segment: string; trials: string }> = await em.execute(
    'select segment, count(*) as trials from trials where app_id = ? and segment is not null group by segment',
    [appId],
  );
  const counts = new Map(rows.map((row) => [row.segment, Number(row.trials)]));
  return SEGMENT_KEYS.map((key) => ({ key, trials: counts.get(key) ?? 0 }));
}

/**
 * A trial by its user: the API's most frequent read (a backend or a dashboard polling a
 * user's segment). One indexed SELECT, its row mapped to a managed entity: em.findOne builds
 * and hydrates the same query at about three times the CPU (bench: graphql.trial_query).
 */
export async function trialOfUser(em: EntityManager, appId: string, userId: string): Promise<ITrial | null> {
  const [row] = await em.execute('select * from trials where app_id = ? and user_id = ? limit 1', [appId, userId]);
  return row ? em.map(Trial, row) : null;
}
