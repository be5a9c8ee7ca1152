/** Read-side queries of the trials module. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SEGMENT_KEYS, type SegmentKey } from '../../core/segments.ts';
import type { TrialView } from './trial.entity.ts';
import type { TrialSubject } from '../../core/account-rules.ts';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';

/** How many of the app's trials are in each segment now (every segment, zeros included). */
export async function segmentCounts(em: EntityManager, appId: string): Promise<Array<{ key: SegmentKey; trials: number }>> {
  const rows: Array<{ segment: string; trials: string }> = await em.execute(
    'select segment, count(*) as trials from trials where app_id = ? and segment is not null group by segment',
    [appId],
  );
  const counts = new Map(rows.map((row) => [row.segment, Number(row.trials)]));
  return SEGMENT_KEYS.map((key) => ({ key, trials: counts.get(key) ?? 0 }));
}

/** The trial columns the API answers with (TrialView). */
const TRIAL_VIEW = `select id, app_id, user_id, account_id, email, stripe_customer_id, trial_start, trial_end, segment, workflow_id, created_at
from trials where app_id = $1 and`;
const TRIAL_BY_USER = prepareStatement(`${TRIAL_VIEW} user_id = $2 limit 1`);
const TRIAL_BY_ACCOUNT = prepareStatement(`${TRIAL_VIEW} account_id = $2 limit 1`);

interface TrialViewRow {
  id: string;
  app_id: string;
  user_id: string | null;
  account_id: string | null;
  email: string | null;
  stripe_customer_id: string | null;
  /** Timestamps as PostgreSQL writes them (the ORM's connection keeps them text), parsed as the ORM does. */
  trial_start: string;
  trial_end: string;
  segment: string | null;
  workflow_id: string;
  created_at: string;
}

/**
 * A trial by its person or account: the API's most frequent read (a backend or a dashboard polling a
 * user's segment). One indexed SELECT of the columns it is answered with, as a plain TrialView:
 * nothing changes it, it is answered and dropped. em.findOne builds and hydrates the same query at
 * about three times the CPU; hydrating the row as an untracked entity (the ORM's factory, its app a
 * reference) was still 7 % of the API's CPU under this query (a V8 profile of `BENCH_ONLY=graphql`).
 * The statement is prepared (bound parameters, parsed and planned once per connection): with
 * MikroORM's `execute` PostgreSQL parsed and planned its text on every request.
 */
export async function trialOfSubject(em: EntityManager, appId: string, subject: TrialSubject): Promise<TrialView | null> {
  const [row] = await executeBound<TrialViewRow>(em, subject.kind === 'user' ? TRIAL_BY_USER : TRIAL_BY_ACCOUNT, [
    appId,
    subject.kind === 'user' ? subject.userId : subject.accountId,
  ]);
  if (!row) return null;
  const date = (value: string) => em.getPlatform().parseDate(value) as Date;
  return {
    id: row.id,
    app: { id: row.app_id },
    userId: row.user_id,
    accountId: row.account_id,
    email: row.email,
    stripeCustomerId: row.stripe_customer_id,
    trialStart: date(row.trial_start),
    trialEnd: date(row.trial_end),
    segment: row.segment,
    workflowId: row.workflow_id,
    createdAt: date(row.created_at),
  };
}
