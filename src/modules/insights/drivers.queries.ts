/**
 * Conversion drivers' counts, read from the finished trials' outcome rows (trial_outcomes):
 * the trials that started in the range and finished, and for each of the busiest event names
 * (the app's conversion events left out) how many did it before their outcome and converted.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { TrialKind } from '../../core/account-rules.ts';
import type { EventOutcomes } from '../../core/conversion-drivers.ts';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';

/** The names compared: the most done, as the issue of multiple comparisons grows with each one. */
export const MAX_DRIVER_EVENTS = 200;

const DRIVER_COUNTS = prepareStatement(`
with finished as (
  select converted, events from trial_outcomes
   where app_id = $1 and trial_start >= $2 and trial_start < $3 and ($4::text is null or kind = $4)
), names as (
  select e.event, count(*)::int as trials_with, (count(*) filter (where f.converted))::int as converted_with
    from finished f cross join lateral unnest(f.events) as e(event)
   where e.event <> all($5::text[])
   group by e.event order by trials_with desc, e.event limit ${MAX_DRIVER_EVENTS}
)
select null as event, count(*)::int as trials_with, (count(*) filter (where converted))::int as converted_with from finished
union all
select event, trials_with, converted_with from names`);

export async function driverCounts(
  em: EntityManager,
  appId: string,
  range: { from: Date; to: Date; kind: TrialKind | null },
  conversionEvents: readonly string[],
): Promise<{ finished: { trials: number; converted: number }; events: EventOutcomes[] }> {
  const rows = await executeBound<{ event: string | null; trials_with: number; converted_with: number }>(em, DRIVER_COUNTS, [
    appId,
    range.from,
    range.to,
    range.kind,
    conversionEvents,
  ]);
  const [total, ...names] = rows;
  return {
    finished: { trials: total?.trials_with ?? 0, converted: total?.converted_with ?? 0 },
    events: names.map((row) => ({ event: row.event!, trialsWith: row.trials_with, convertedWith: row.converted_with })),
  };
}
