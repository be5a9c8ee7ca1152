/** Read-side queries of the accounts module. */
import type { EntityManager } from '@mikro-orm/postgresql';

export interface AccountView {
  appId: string;
  accountId: string;
  name: string | null;
  traits: Record<string, unknown>;
  memberCount: number;
  lastActiveMember: MemberView | null;
}

export interface MemberView {
  userId: string;
  email: string | null;
  joinedAt: Date;
  lastActiveAt: Date;
  ahaAt: Date | null;
}

type MemberRow = { user_id: string; email: string | null; joined_at: string | Date; last_active_at: string | Date; aha_at: string | Date | null };

const memberOf = (row: MemberRow): MemberView => ({
  userId: row.user_id,
  email: row.email,
  joinedAt: new Date(row.joined_at),
  lastActiveAt: new Date(row.last_active_at),
  ahaAt: row.aha_at === null ? null : new Date(row.aha_at),
});

/**
 * Accounts of one app with their member counts and most recently active member, in one query
 * (a board of account cards asks for many); an account named only by events has no traits yet.
 */
export async function accountsOf(em: EntityManager, appId: string, accountIds: readonly string[]): Promise<Map<string, AccountView>> {
  const rows = await em.execute<
    Array<{
      account_id: string;
      name: string | null;
      traits: Record<string, unknown> | null;
      members: string;
      last_active: MemberRow | null;
    }>
  >(
    `select v.g as account_id, a.name, a.traits,
            (select count(*) from account_members m where m.app_id = ? and m.account_id = v.g) as members,
            (select json_build_object('user_id', m.user_id, 'email', m.email, 'joined_at', m.joined_at, 'last_active_at', m.last_active_at, 'aha_at', m.aha_at)
               from account_members m where m.app_id = ? and m.account_id = v.g order by m.last_active_at desc, m.user_id desc limit 1) as last_active
       from jsonb_array_elements_text(cast(? as jsonb)) as v(g)
       left join accounts a on a.app_id = ? and a.account_id = v.g`,
    [appId, appId, JSON.stringify(accountIds), appId],
  );
  return new Map(
    rows.map((row) => [
      row.account_id,
      {
        appId,
        accountId: row.account_id,
        name: row.name,
        traits: row.traits ?? {},
        memberCount: Number(row.members),
        lastActiveMember: row.last_active && memberOf(row.last_active),
      },
    ]),
  );
}

/** A page of members, the most recently active first (keyset on last activity, then user id). */
export async function membersPage(
  em: EntityManager,
  appId: string,
  accountId: string,
  limit: number,
  after: { at: Date; id: string } | null,
): Promise<MemberView[]> {
  const rows = await em.execute<MemberRow[]>(
    `select user_id, email, joined_at, last_active_at, aha_at from account_members where app_id = ? and account_id = ?` +
      (after ? ' and (last_active_at < ? or (last_active_at = ? and user_id < ?))' : '') +
      ' order by last_active_at desc, user_id desc limit ?',
    [appId, accountId, ...(after ? [after.at, after.at, after.id] : []), limit],
  );
  return rows.map(memberOf);
}
