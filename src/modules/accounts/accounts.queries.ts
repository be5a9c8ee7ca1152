/** Read-side queries of the accounts module. */
import type { EntityManager } from '@mikro-orm/postgresql';

export interface AccountView {
  appId: string;
  accountId: string;
  name: string | null;
  traits: Record<string, unknown>;
  memberCount: number;
}

export interface MemberView {
  userId: string;
  email: string | null;
  joinedAt: Date;
  lastActiveAt: Date;
  ahaAt: Date | null;
}

/** An account with its member count (an account named only by events has no traits yet). */
export async function accountOf(em: EntityManager, appId: string, accountId: string): Promise<AccountView> {
  const [row] = await em.execute<Array<{ name: string | null; traits: Record<string, unknown> | null; members: string }>>(
    `select a.name, a.traits, (select count(*) from account_members m where m.app_id = ? and m.account_id = ?) as members
       from (select 1) one left join accounts a on a.app_id = ? and a.account_id = ?`,
    [appId, accountId, appId, accountId],
  );
  return { appId, accountId, name: row?.name ?? null, traits: row?.traits ?? {}, memberCount: Number(row?.members ?? 0) };
}

/** A page of members, the most recently active first (keyset on last activity, then user id). */
export async function membersPage(
  em: EntityManager,
  appId: string,
  accountId: string,
  limit: number,
  after: { at: Date; id: string } | null,
): Promise<MemberView[]> {
  const rows = await em.execute<Array<{ user_id: string; email: string | null; joined_at: Date; last_active_at: Date; aha_at: Date | null }>>(
    `select user_id, email, joined_at, last_active_at, aha_at from account_members where app_id = ? and account_id = ?` +
      (after ? ' and (last_active_at < ? or (last_active_at = ? and user_id < ?))' : '') +
      ' order by last_active_at desc, user_id desc limit ?',
    [appId, accountId, ...(after ? [after.at, after.at, after.id] : []), limit],
  );
  return rows.map((row) => ({
    userId: row.user_id,
    email: row.email,
    joinedAt: new Date(row.joined_at),
    lastActiveAt: new Date(row.last_active_at),
    ahaAt: row.aha_at === null ? null : new Date(row.aha_at),
  }));
}
