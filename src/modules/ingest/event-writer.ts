/**
 * Durable, deduplicated event writes with group commit: requests that arrive while a
 * transaction is in flight share the next one, so a 2xx always follows a commit and many
 * concurrent requests cost few fsyncs.
 */
import { DeadlockException, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import { TtlCache } from '../../infra/ttl-cache.ts';
import type { IngestEvent } from './segment-message.ts';

/** A trial the write counted activity for (a person's, or an account's), as the write left it. */
export interface TouchedTrial {
  id: string;
  appId: string;
  /** A person's trial; null for an account's. */
  userId: string | null;
  /** An account's trial; null for a person's. */
  accountId: string | null;
  segment: string | null;
  workflowId: string;
  ahaReachedAt: Date | null;
}

/** An event the effects step looks at: fresh, a duplicate (its effects are idempotent), or stitched. */
export interface WrittenEvent {
  appId: string;
  event: IngestEvent;
  fresh: boolean;
}

export interface WriteResult {
  events: WrittenEvent[];
  /** Events that became attributed to a user by this write (identity stitching). */
  stitched: Array<{ appId: string; userId: string; groupId: string | null; event: string | null; type: string; properties: Record<string, unknown> }>;
  trials: TouchedTrial[];
  /** Which accounts with a trial each user's events without a groupId count for (their memberships). */
  memberships: Array<{ userId: string; accountId: string }>;
  /**
   * The other memberships of those users: accounts the write saw no trial for. One may be starting beside the
   * write, unseen by it (see unseenTrialSubjects in effects.ts).
   */
  accountsWithoutTrial: Array<{ userId: string; accountId: string }>;
  /**
   * The app's settings revision as the write's statement saw it: settings saved (by any
   * process) before the events were stored apply to them, so a cached copy that differs is stale.
   */
  settingsRevision: string | null;
}

interface Pending {
  appId: string;
  events: IngestEvent[];
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

const key = (appId: string, id: string) => `${appId}\u0000${id}`;

interface TrialRow {
  id: string;
  app_id: string;
  user_id: string | null;
  account_id: string | null;
  segment: string | null;
  workflow_id: string;
  aha_reached_at: string | null;
}

/** Row sets travel as one JSON parameter, unpacked in SQL with jsonb_to_recordset. */
const rowsParam = (rows: object[]) => JSON.stringify(rows);

/** Who the anonymous ids of events without a user id belong to. */
const KNOWN_IDENTITIES = prepareStatement(`
select app_id, anonymous_id, user_id from identities
where (app_id, anonymous_id) in (select a, n from jsonb_to_recordset(cast($1 as jsonb)) as v(a text, n text))`);

/**
 * The events; each known user's activity record; their memberships (a groupId on an event makes
 * its sender a member) and the activity of the account trials the events count for (the named
 * account, else every account of the user); account traits from group calls; and the settings
 * revisions of the apps written for. One statement: atomic on its own, one round trip.
 * A membership's last activity is kept to the minute, so a busy member costs a write a minute;
 * one this process wrote in the last half minute (`f`: fresh) is not even looked up;
 * an existing membership is neither locked nor written otherwise (no ON CONFLICT DO UPDATE,
 * which locks the row it meets: a heap write for every event).
 */
export const STORE_EVENTS = prepareStatement(`
with inserted as (
  insert into events (app_id, message_id, type, event, user_id, anonymous_id, group_id, properties, traits, context, timestamp, received_at)
  select a, m, t, e, u, n, g, p, tr, c, ts, r
  from jsonb_to_recordset(cast($1 as jsonb))
    as v(a text, m text, t text, e text, u text, n text, g text, p jsonb, tr jsonb, c jsonb, ts timestamptz, r timestamptz)
  -- A re-sent message is stored once: its partition's unique (app, messageId) index (any conflict: a partitioned
  -- table has no index to name), and, across a month's boundary, a look at the 7 days before (Segment's window).
  -- That look is one (app, messageId) index lookup per message (OFFSET 0 keeps it per row): as a join, PostgreSQL
  -- read every stored event of the month's partitions for each write, most of a single event's write at 3,000 events.
  where not exists (select 1 from events x where x.app_id = v.a and x.message_id = v.m and x.received_at >= v.r - interval '7 days' offset 0)
  on conflict do nothing
  returning app_id, message_id
), people as (
  select a, u, at from jsonb_to_recordset(cast($2 as jsonb)) as v(a text, u text, at timestamptz)
), touched as (
  -- The = any(array(…)) conditions make the trials a lookup by index (a join on the row set alone scanned every trial).
  update trials set last_activity_at = greatest(coalesce(trials.last_activity_at, v.at), v.at)
  from people v
  where trials.app_id = any(array(select distinct a from people)) and trials.user_id = any(array(select u from people))
    and trials.app_id = v.a and trials.user_id = v.u
  returning trials.id, trials.app_id, trials.user_id, trials.account_id, trials.segment, trials.workflow_id, trials.aha_reached_at
), activity as (
  select a, u, g, at, e, f from jsonb_to_recordset(cast($4 as jsonb)) as v(a text, u text, g text, at timestamptz, e text, f boolean)
), joined as (
  insert into account_members (app_id, account_id, user_id, email, joined_at, last_active_at)
  select a, g, u, e, at, at from activity where g is not null and not f
  on conflict (app_id, account_id, user_id) do nothing
  returning app_id, account_id, user_id, email
), memberships as (
  -- Each sender's memberships as they were before this statement: the one its event names, or all of them.
  -- (OFFSET 0 keeps the lookup per row, by index, where a join would scan the whole table.)
  select v.a, v.u, v.g, v.at, v.e, m.id, m.account_id, m.last_active_at, m.email
  from activity v
  cross join lateral (
    select id, account_id, last_active_at, email from account_members m
     where m.app_id = v.a and m.user_id = v.u and (v.g is null or m.account_id = v.g) offset 0) m
  where not v.f
), attributed as (
  select a, u, g, false as untagged, at from activity where g is not null
  union all
  select a, u, account_id, true, at from memberships where g is null
), stale as (
  select id, max(at) as at, max(e) as e from memberships
   where last_active_at < at - interval '1 minute' or e <> coalesce(email, '')
   group by id
), refreshed as (
  update account_members m set last_active_at = greatest(m.last_active_at, s.at), email = coalesce(s.e, m.email)
  from stale s where m.id = any(array(select id from stale)) and m.id = s.id
), touched_accounts as (
  update trials set last_activity_at = greatest(coalesce(trials.last_activity_at, x.at), x.at)
  from (select a, g, max(at) as at from attributed group by a, g) x
  where trials.app_id = any(array(select distinct a from attributed)) and trials.account_id = any(array(select distinct g from attributed))
    and trials.app_id = x.a and trials.account_id = x.g
  returning trials.id, trials.app_id, trials.user_id, trials.account_id, trials.segment, trials.workflow_id, trials.aha_reached_at
), described as (
  insert into accounts (app_id, account_id, name, traits, created_at, updated_at)
  select a, g, n, tr, now(), now() from jsonb_to_recordset(cast($5 as jsonb)) as v(a text, g text, n text, tr jsonb)
  on conflict (app_id, account_id) do update
    set traits = accounts.traits || excluded.traits, name = coalesce(excluded.name, accounts.name), updated_at = now()
)
select (select coalesce(json_agg(inserted), '[]') from inserted) as inserted,
       (select coalesce(json_agg(t), '[]') from (
         select id, app_id, user_id, account_id, segment, workflow_id, aha_reached_at from touched
         union all select id, app_id, user_id, account_id, segment, workflow_id, aha_reached_at from touched_accounts) t) as trials,
       (select coalesce(json_agg(json_build_object('app_id', x.a, 'user_id', x.u, 'account_id', x.g,
                 'trial', exists (select 1 from touched_accounts t where t.app_id = x.a and t.account_id = x.g))), '[]')
          from attributed x where x.untagged) as memberships,
       (select coalesce(json_agg(json_build_object('a', app_id, 'g', account_id, 'u', user_id)), '[]') from joined where email is null) as unnamed,
       (select coalesce(json_object_agg(app_id, revision), '{}') from app_settings where app_id = any(cast($3 as text[]))) as revisions`);

/**
 * New members whose events so far carried no email: the latest one their identify calls gave
 * (a person usually identifies before any group call). Runs once per membership.
 */
const NAME_NEW_MEMBERS = prepareStatement(`
update account_members m set email = (
  select e.traits ->> 'email' from events e
   where e.app_id = m.app_id and e.user_id = m.user_id and e.type = 'identify' and length(e.traits ->> 'email') <= 255
   order by e.timestamp desc limit 1)
from jsonb_to_recordset(cast($1 as jsonb)) as v(a text, g text, u text)
where m.app_id = v.a and m.account_id = v.g and m.user_id = v.u and m.email is null`);

/** Identity links: the latest user for an anonymous id, an email kept once known. */
const SAVE_LINKS = prepareStatement(`
insert into identities (app_id, anonymous_id, user_id, email, updated_at)
select a, n, u, e, now() from jsonb_to_recordset(cast($1 as jsonb)) as v(a text, n text, u text, e text)
on conflict (app_id, anonymous_id) do update set user_id = excluded.user_id, email = coalesce(excluded.email, identities.email), updated_at = now()`);

/** Stored anonymous events that the links now attribute to their users. */
const STITCH_EVENTS = prepareStatement(`
update events set user_id = v.u from jsonb_to_recordset(cast($1 as jsonb)) as v(a text, n text, u text)
where events.app_id = v.a and events.anonymous_id = v.n and events.user_id is null
returning events.app_id, events.user_id, events.group_id, events.event, events.type, events.properties`);

/**
 * Writes in flight at once. Small requests (single /v1/track calls) do best gathered behind
 * one writer, in large groups; big batches do best with a few statements overlapping. So a
 * second writer starts only when enough events are waiting (both measured in `npm run bench`).
 */
const MAX_WRITERS = 4;
const EVENTS_PER_EXTRA_WRITER = 500;

/** How long a membership this process wrote counts as fresh: not looked up again (its last activity lags by at most this plus a minute). */
const FRESH_MEMBERSHIP_MS = 30_000;

export class EventWriter {
  readonly #orm: MikroORM;
  /** (app, account, user) → the email written: memberships known to exist with a recent last activity. */
  readonly #freshMembers = new TtlCache<string, string | null>(FRESH_MEMBERSHIP_MS, 100_000);
  #queue: Pending[] = [];
  #writers = 0;
  #queuedEvents = 0;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  /** After an erasure: a membership known here may be gone, so none is taken as known. */
  forgetMemberships(): void {
    this.#freshMembers.clear();
  }

  write(appId: string, events: IngestEvent[]): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ appId, events, resolve, reject });
      this.#queuedEvents += events.length;
      const wanted = 1 + Math.floor(this.#queuedEvents / EVENTS_PER_EXTRA_WRITER);
      if (this.#writers < Math.min(MAX_WRITERS, wanted)) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writers++;
    while (this.#queue.length) {
      const batch = this.#queue;
      this.#queue = [];
      this.#queuedEvents = 0;
      try {
        const result = await this.#writeWithRetry(batch);
        batch.forEach((pending, index) => pending.resolve(result[index]!));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.#writers--;
  }

  /** Concurrent writers can deadlock on the same users' rows; PostgreSQL aborts one, which tries again. */
  async #writeWithRetry(batch: Pending[], attempt = 1): Promise<WriteResult[]> {
    try {
      return await writeBatch(this.#orm.em.fork(), batch, this.#freshMembers);
    } catch (error) {
      if (!(error instanceof DeadlockException) || attempt >= 3) throw error;
      return this.#writeWithRetry(batch, attempt + 1);
    }
  }
}

async function writeBatch(em: EntityManager, batch: Pending[], freshMembers: TtlCache<string, string | null>): Promise<WriteResult[]> {
  const all = batch.flatMap((pending) => pending.events.map((event) => ({ appId: pending.appId, event })));

  // 1. Learn identities (identify/alias and any event carrying both ids) and resolve anonymous events.
  const links = new Map<string, { appId: string; anonymousId: string; userId: string; email: string | null }>();
  for (const { appId, event } of all) {
    const anonymous = event.type === 'alias' ? event.previousId : event.anonymousId;
    if (anonymous && event.userId) {
      const email = emailOf(event);
      links.set(key(appId, anonymous), { appId, anonymousId: anonymous, userId: event.userId, email });
    }
  }
  const unresolved = all.filter(({ event }) => !event.userId && event.anonymousId);
  if (unresolved.length) {
    const rows = await executeBound<{ app_id: string; anonymous_id: string; user_id: string }>(em, KNOWN_IDENTITIES, [
      rowsParam(unresolved.map(({ appId, event }) => ({ a: appId, n: event.anonymousId }))),
    ]);
    const known = new Map(rows.map((row) => [key(row.app_id, row.anonymous_id), row.user_id]));
    for (const { appId, event } of unresolved) {
      event.userId = links.get(key(appId, event.anonymousId!))?.userId ?? known.get(key(appId, event.anonymousId!)) ?? null;
    }
  }

  // Without identity links a write is one statement, atomic on its own; with links, the
  // events and the links they bring commit together.
  const persist = async (tx: EntityManager) => {
    // 2. In one statement: store the events (an (app, messageId) seen before is a duplicate,
    //    acknowledged but not stored again) and move each known user's activity record forward,
    //    which is what the workflow reads when its timers fire.
    const latest = new Map<string, { appId: string; userId: string; at: Date }>();
    for (const { appId, event } of all) {
      if (!event.userId || event.type === 'delete') continue;
      const at = activityAt(event);
      const current = latest.get(key(appId, event.userId));
      if (!current || at > current.at) latest.set(key(appId, event.userId), { appId, userId: event.userId, at });
    }
    // Sorted, so concurrent writers take row locks in one order.
    const users = [...latest.values()].sort((x, y) => key(x.appId, x.userId).localeCompare(key(y.appId, y.userId)));
    const { activity, described } = accountRows(all, freshMembers);
    const [written] = await executeBound<{
      inserted: Array<{ app_id: string; message_id: string }>;
      trials: TrialRow[];
      memberships: Array<{ app_id: string; user_id: string; account_id: string; trial: boolean }>;
      unnamed: Array<{ a: string; g: string; u: string }>;
      revisions: Record<string, string | null>;
    }>(tx, STORE_EVENTS, [
      rowsParam(
        all.map(({ appId, event }) => ({
          a: appId,
          m: event.messageId,
          t: event.type,
          e: event.event,
          u: event.userId,
          n: event.anonymousId,
          g: event.groupId,
          p: event.properties,
          tr: event.traits,
          c: event.context,
          ts: event.timestamp.toISOString(),
          r: event.receivedAt.toISOString(),
        })),
      ),
      rowsParam(users.map((user) => ({ a: user.appId, u: user.userId, at: user.at.toISOString() }))),
      [...new Set(batch.map((pending) => pending.appId))],
      rowsParam(activity),
      rowsParam(described),
    ]);
    const insertedKeys = new Set(written!.inserted.map((row) => key(row.app_id, row.message_id)));
    const { trials: trialRows, memberships, unnamed, revisions } = written!;
    if (unnamed.length) await executeBound(tx, NAME_NEW_MEMBERS, [rowsParam(unnamed)]);

    // 3. Save identity links (sorted, as above) and stitch the anonymous events they explain.
    let stitchedRows: StitchedRow[] = [];
    if (links.size) {
      const linkRows = rowsParam(
        [...links.values()]
          .sort((x, y) => key(x.appId, x.anonymousId).localeCompare(key(y.appId, y.anonymousId)))
          .map((link) => ({ a: link.appId, n: link.anonymousId, u: link.userId, e: link.email })),
      );
      await executeBound(tx, SAVE_LINKS, [linkRows]);
      stitchedRows = await executeBound(tx, STITCH_EVENTS, [linkRows]);
    }
    return { insertedKeys, trialRows, memberships, stitchedRows, revisions, activity };
  };
  const { insertedKeys, trialRows, memberships, stitchedRows, revisions, activity } = links.size ? await em.transactional(persist) : await persist(em);
  // Committed: the memberships of this write exist, their activity at most a minute behind.
  for (const row of activity) if (row.g !== null && !row.f) freshMembers.set(memberKey(row.a, row.g, row.u), row.e);

  const membershipsOf = (appId: string, trial: boolean) =>
    memberships.filter((row) => row.app_id === appId && row.trial === trial).map((row) => ({ userId: row.user_id, accountId: row.account_id }));
  return batch.map((pending) => ({
    events: pending.events.map((event) => ({ appId: pending.appId, event, fresh: insertedKeys.has(key(pending.appId, event.messageId)) })),
    stitched: stitchedRows
      .filter((row) => row.app_id === pending.appId)
      .map((row) => ({ appId: row.app_id, userId: row.user_id, groupId: row.group_id, event: row.event, type: row.type, properties: row.properties })),
    trials: trialRows.filter((row) => row.app_id === pending.appId).map(touchedTrial),
    memberships: membershipsOf(pending.appId, true),
    accountsWithoutTrial: membershipsOf(pending.appId, false),
    settingsRevision: revisions[pending.appId] ?? null,
  }));
}

const touchedTrial = (row: TrialRow): TouchedTrial => ({
  id: row.id,
  appId: row.app_id,
  userId: row.user_id,
  accountId: row.account_id,
  segment: row.segment,
  workflowId: row.workflow_id,
  ahaReachedAt: row.aha_reached_at === null ? null : new Date(row.aha_reached_at),
});

/**
 * The trials of people as they are now: each one's own, the account their event named, or (naming none) those of
 * every account they are a member of, with the memberships that led there. Each branch is one index lookup.
 */
const TRIALS_OF_SUBJECTS = prepareStatement(`
select distinct on (t.id, t.member) t.id, t.app_id, t.user_id, t.account_id, t.segment, t.workflow_id, t.aha_reached_at, t.member
from jsonb_to_recordset(cast($2 as jsonb)) as v(u text, g text)
cross join lateral (
  select id, app_id, user_id, account_id, segment, workflow_id, aha_reached_at, null::text as member
    from trials where app_id = $1 and user_id = v.u
  union all
  select id, app_id, user_id, account_id, segment, workflow_id, aha_reached_at, null
    from trials where app_id = $1 and account_id = v.g
  union all
  select x.id, x.app_id, x.user_id, x.account_id, x.segment, x.workflow_id, x.aha_reached_at, m.user_id
    from account_members m join trials x on x.app_id = m.app_id and x.account_id = m.account_id
   where v.g is null and m.app_id = $1 and m.user_id = v.u
) t`);

/** Trials of an app's people read after a write (see unseenTrialSubjects in effects.ts), with the memberships that count. */
export async function trialsOfSubjects(
  em: EntityManager,
  appId: string,
  subjects: Array<{ userId: string; groupId: string | null }>,
): Promise<{ trials: TouchedTrial[]; memberships: Array<{ userId: string; accountId: string }> }> {
  const rows = await executeBound<TrialRow & { member: string | null }>(em, TRIALS_OF_SUBJECTS, [
    appId,
    rowsParam(subjects.map((subject) => ({ u: subject.userId, g: subject.groupId }))),
  ]);
  return {
    trials: [...new Map(rows.map((row) => [row.id, touchedTrial(row)])).values()],
    memberships: rows.flatMap((row) => (row.member === null ? [] : [{ userId: row.member, accountId: row.account_id! }])),
  };
}

interface StitchedRow {
  app_id: string;
  user_id: string;
  group_id: string | null;
  event: string | null;
  type: string;
  properties: Record<string, unknown>;
}

/** When an event counts as activity: its time, but never later than it was received (a client's clock ahead). */
const activityAt = (event: IngestEvent) => (event.timestamp > event.receivedAt ? event.receivedAt : event.timestamp);

/** An email the identity and membership rows can hold (they keep 255 characters; a longer one is not an address). */
function emailOf(event: IngestEvent): string | null {
  const email = event.traits.email;
  return typeof email === 'string' && email.length <= 255 ? email : null;
}

const memberKey = (appId: string, accountId: string, userId: string) => `${appId}\u0000${accountId}\u0000${userId}`;

/**
 * The account side of a write: per (user, named account or none) the latest activity and email
 * (one row each: an upsert may touch a row once), marked fresh when this process wrote that
 * membership lately with the same email; and per account the traits its group calls carried,
 * merged in order (latest wins, key by key). Sorted, as the users are.
 */
function accountRows(all: Array<{ appId: string; event: IngestEvent }>, freshMembers: TtlCache<string, string | null>) {
  const activity = new Map<string, { a: string; u: string; g: string | null; at: string; e: string | null; f: boolean }>();
  const described = new Map<string, { a: string; g: string; n: string | null; tr: Record<string, unknown> }>();
  for (const { appId, event } of all) {
    if (!event.userId || event.type === 'delete') continue;
    const at = activityAt(event).toISOString();
    const rowKey = `${key(appId, event.userId)}\u0000${event.groupId ?? ''}`;
    const current = activity.get(rowKey);
    const email = emailOf(event) ?? current?.e ?? null;
    const known = event.groupId === null ? undefined : freshMembers.get(memberKey(appId, event.groupId, event.userId));
    const fresh = known !== undefined && (email === null || email === known);
    activity.set(rowKey, {
      a: appId,
      u: event.userId,
      g: event.groupId,
      at: current && current.at > at ? current.at : at,
      e: email,
      f: fresh && (current?.f ?? true),
    });
    if (event.groupId && event.accountTraits) {
      const accountKey = key(appId, event.groupId);
      const traits = { ...described.get(accountKey)?.tr, ...event.accountTraits };
      const name = typeof traits.name === 'string' && traits.name !== '' ? traits.name.slice(0, 255) : null;
      described.set(accountKey, { a: appId, g: event.groupId, n: name, tr: traits });
    }
  }
  const sorted = <T>(rows: Map<string, T>) => [...rows.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([, row]) => row);
  return { activity: sorted(activity), described: sorted(described) };
}
