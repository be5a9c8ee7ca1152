/**
 * Conversion drivers' counts, read from the daily rollup of finished trials (driver_day_counts):
 * the trials that started on the range's days (UTC) and finished, and for each of the busiest
 * event names (the app's conversion events left out) how many did it before their outcome and
 * converted. Its cost follows the days and names, not the trials.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TrialKind } from '../../core/account-rules.ts';
import type { EventOutcomes } from '../../core/conversion-drivers.ts';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';

/** The names compared: the most done, as the issue of multiple comparisons grows with each one. */
export const MAX_DRIVER_EVENTS = 200;

const DRIVER_COUNTS = prepareStatement(`
with days as (
  select event, sum(trials)::int as trials_with, sum(converted)::int as converted_with from driver_day_counts
   where app_id = $1 and start_day between $2::date and $3::date and ($4::text is null or kind = $4)
   group by event
)
select event, trials_with, converted_with from days where event = ''
union all
(select event, trials_with, converted_with from days
  where event <> '' and event <> all($5::text[]) and trials_with > 0
  order by trials_with desc, event limit ${MAX_DRIVER_EVENTS})`);

export async function driverCounts(
  em: EntityManager,
  appId: string,
  range: { from: Date; to: Date; kind: TrialKind | null },
  conversionEvents: readonly string[],
): Promise<{ finished: { trials: number; converted: number }; events: EventOutcomes[] }> {
  // The days the range touches: [from, to) ends on the day of its last instant.
  const day = (at: Date) => at.toISOString().slice(0, 10);
  const rows = await executeBound<{ event: string; trials_with: number; converted_with: number }>(em, DRIVER_COUNTS, [
    appId,
    day(range.from),
    day(new Date(range.to.getTime() - 1)),
    range.kind,
    conversionEvents,
  ]);
  const total = rows.find((row) => row.event === '');
  const names = rows.filter((row) => row.event !== '');
  return {
    finished: { trials: total?.trials_with ?? 0, converted: total?.converted_with ?? 0 },
    events: names.map((row) => ({ event: row.event, trialsWith: row.trials_with, convertedWith: row.converted_with })),
  };
}
