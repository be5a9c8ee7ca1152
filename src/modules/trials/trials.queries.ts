/** Read-side queries of the trials module. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SEGMENT_KEYS, type SegmentKey } from '../../core/segments.ts';

/** How many of the app's trials are in each segment now (every segment, zeros included). */
export async function segmentCounts(em: EntityManager, appId: string): Promise<Array<{ key: SegmentKey; trials: number }>> {
  const rows: Array<{ segment: string; trials: string }> = await em.execute(
    'select segment, count(*) as trials from trials where app_id = ? and segment is not null group by segment',
    [appId],
  );
  const counts = new Map(rows.map((row) => [row.segment, Number(row.trials)]));
  return SEGMENT_KEYS.map((key) => ({ key, trials: counts.get(key) ?? 0 }));
}
