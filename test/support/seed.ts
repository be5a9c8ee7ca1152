/** Histories written straight into the database, as the workflows record them: for tests of what reads the record. */
import type { TestStack } from './harness.ts';

/** A trial (a user's, or with `account` an account's) and its moves written as the workflow records them (no workflow runs: insights read the record). */
export async function seedTrial(
  stack: Pick<TestStack, 'sql'>,
  appId: string,
  userId: string,
  moves: Array<[segment: string, reason: string, at: string]>,
  extra: { trialStart?: string; trialEnd?: string; lastActivityAt?: string | null; ahaReachedAt?: string | null; createdAt?: string; account?: boolean } = {},
) {
  const id = `trl_seed_${appId}_${userId}`;
  const last = moves.at(-1);
  await stack.sql(
    `insert into trials (id, app_id, user_id, account_id, email, trial_start, trial_end, segment, last_sequence, workflow_id, last_activity_at, aha_reached_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
    [
      id,
      appId,
      // `account`: the id names an account, whose trial has no user or email of its own.
      extra.account ? null : userId,
      extra.account ? userId : null,
      extra.account ? null : `${userId}@example.com`,
      extra.trialStart ?? moves[0]?.[2] ?? new Date().toISOString(),
      extra.trialEnd ?? '2099-01-01T00:00:00Z',
      last?.[0] ?? null,
      moves.length,
      `seed:${id}`,
      extra.lastActivityAt ?? null,
      extra.ahaReachedAt ?? null,
      extra.createdAt ?? moves[0]?.[2] ?? new Date().toISOString(),
    ],
  );
  let previous: string | null = null;
  for (const [index, [segment, reason, at]] of moves.entries()) {
    await stack.sql(
      `insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [`sgc_seed_${id}_${index + 1}`, appId, id, index + 1, previous, segment, reason, at],
    );
    previous = segment;
  }
  return id;
}
