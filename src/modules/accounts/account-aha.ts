/**
 * An account's aha, member by member: a member reaches it when their events that count for the
 * account meet the app's aha rule; the account does when enough members have
 * (`accountAhaMembers`, judged by the pure accountReachedAha).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { accountReachedAha } from '../../core/account-rules.ts';
import { loadSettings } from '../trials/settings.service.ts';
import { eventsMeetAnyRule, segmentAhaRules } from '../trials/aha-facts.ts';

/** Records that the member reached aha (the first time counts); answers how many members of the account have. */
export async function markMemberAha(em: EntityManager, appId: string, accountId: string, userId: string, at: Date): Promise<number> {
  const [row] = await em.execute<Array<{ n: string }>>(
    `with marked as (
       update account_members set aha_at = ? where app_id = ? and account_id = ? and user_id = ? and aha_at is null returning 1
     )
     select (select count(*) from account_members where app_id = ? and account_id = ? and aha_at is not null)
          + (select count(*) from marked) as n`,
    [at, appId, accountId, userId, appId, accountId],
  );
  return Number(row?.n ?? 0);
}

/**
 * Whether the account has found value as its members' stored events say now: members not yet
 * marked are checked against the rules (events that came before the trial, or a lost signal),
 * and those that meet them are marked, as a live aha would be.
 */
export async function accountAhaFromStoredEvents(em: EntityManager, appId: string, accountId: string): Promise<boolean> {
  // Read once for all the members.
  const settings = await loadSettings(em, appId);
  const { accountAhaMembers } = settings;
  const rules = segmentAhaRules(settings);
  const members = await em.execute<Array<{ user_id: string; aha: boolean }>>(
    'select user_id, aha_at is not null as aha from account_members where app_id = ? and account_id = ? order by last_active_at desc',
    [appId, accountId],
  );
  let reached = members.filter((member) => member.aha).length;
  for (const member of members) {
    if (accountReachedAha(reached, accountAhaMembers)) return true;
    if (member.aha || !(await eventsMeetAnyRule(em, appId, member.user_id, rules, accountId))) continue;
    reached = await markMemberAha(em, appId, accountId, member.user_id, new Date());
  }
  return accountReachedAha(reached, accountAhaMembers);
}
