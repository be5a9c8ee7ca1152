/**
 * Durable, deduplicated event writes with group commit: requests that arrive while a
 * transaction is in flight share the next one, so a 2xx always follows a commit and many
 * concurrent requests cost few fsyncs.
 */
import { DeadlockException, type EntityManager, type MikroORM } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import type { IngestEvent } from './segment-message.ts';

/** A user whose trial row exists, as the write left it. */
export interface TouchedTrial {
  appId: string;
  userId: string;
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
  stitched: Array<{ appId: string; userId: string; event: string | null; type: string; properties: Record<string, unknown> }>;
  trials: TouchedTrial[];
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
  app_id: string;
  user_id: string;
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

/** The events, each known user's activity record, and the settings revisions of the apps written for. */
const STORE_EVENTS = prepareStatement(`
with inserted as (
  insert into events (app_id, message_id, type, event, user_id, anonymous_id, properties, traits, context, timestamp, received_at)
  select a, m, t, e, u, n, p, tr, c, ts, r
  from jsonb_to_recordset(cast($1 as jsonb))
    as v(a text, m text, t text, e text, u text, n text, p jsonb, tr jsonb, c jsonb, ts timestamptz, r timestamptz)
  on conflict (app_id, message_id) do nothing
  returning app_id, message_id
), touched as (
  update trials set last_activity_at = greatest(coalesce(trials.last_activity_at, v.at), v.at)
  from jsonb_to_recordset(cast($2 as jsonb)) as v(a text, u text, at timestamptz)
  where trials.app_id = v.a and trials.user_id = v.u
  returning trials.app_id, trials.user_id, trials.segment, trials.workflow_id, trials.aha_reached_at
)
select (select coalesce(json_agg(inserted), '[]') from inserted) as inserted,
       (select coalesce(json_agg(touched), '[]') from touched) as trials,
       (select coalesce(json_object_agg(app_id, revision), '{}') from app_settings where app_id = any(cast($3 as text[]))) as revisions`);

/** Identity links: the latest user for an anonymous id, an email kept once known. */
const SAVE_LINKS = prepareStatement(`
insert into identities (app_id, anonymous_id, user_id, email, updated_at)
select a, n, u, e, now() from jsonb_to_recordset(cast($1 as jsonb)) as v(a text, n text, u text, e text)
on conflict (app_id, anonymous_id) do update set user_id = excluded.user_id, email = coalesce(excluded.email, identities.email), updated_at = now()`);

/** Stored anonymous events that the links now attribute to their users. */
const STITCH_EVENTS = prepareStatement(`
update events set user_id = v.u from jsonb_to_recordset(cast($1 as jsonb)) as v(a text, n text, u text)
where events.app_id = v.a and events.anonymous_id = v.n and events.user_id is null
returning events.app_id, events.user_id, events.event, events.type, events.properties`);

/**
 * Writes in flight at once. Small requests (single /v1/track calls) do best gathered behind
 * one writer, in large groups; big batches do best with a few statements overlapping. So a
 * second writer starts only when enough events are waiting (both measured in `npm run bench`).
 */
const MAX_WRITERS = 4;
const EVENTS_PER_EXTRA_WRITER = 500;

export class EventWriter {
  readonly #orm: MikroORM;
  #queue: Pending[] = [];
  #writers = 0;
  #queuedEvents = 0;

  constructor(orm: MikroORM) {
    this.#orm = orm;
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
      return await writeBatch(this.#orm.em.fork(), batch);
    } catch (error) {
      if (!(error instanceof DeadlockException) || attempt >= 3) throw error;
      return this.#writeWithRetry(batch, attempt + 1);
    }
  }
}

async function writeBatch(em: EntityManager, batch: Pending[]): Promise<WriteResult[]> {
  const all = batch.flatMap((pending) => pending.events.map((event) => ({ appId: pending.appId, event })));

  // 1. Learn identities (identify/alias and any event carrying both ids) and resolve anonymous events.
  const links = new Map<string, { appId: string; anonymousId: string; userId: string; email: string | null }>();
  for (const { appId, event } of all) {
    const anonymous = event.type === 'alias' ? event.previousId : event.anonymousId;
    if (anonymous && event.userId) {
      const email = typeof event.traits.email === 'string' ? event.traits.email : null;
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
      const at = event.timestamp > event.receivedAt ? event.receivedAt : event.timestamp;
      const current = latest.get(key(appId, event.userId));
      if (!current || at > current.at) latest.set(key(appId, event.userId), { appId, userId: event.userId, at });
    }
    // Sorted, so concurrent writers take row locks in one order.
    const users = [...latest.values()].sort((x, y) => key(x.appId, x.userId).localeCompare(key(y.appId, y.userId)));
    const [written] = await executeBound<{
      inserted: Array<{ app_id: string; message_id: string }>;
      trials: TrialRow[];
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
          p: event.properties,
          tr: event.traits,
          c: event.context,
          ts: event.timestamp.toISOString(),
          r: event.receivedAt.toISOString(),
        })),
      ),
      rowsParam(users.map((user) => ({ a: user.appId, u: user.userId, at: user.at.toISOString() }))),
      [...new Set(batch.map((pending) => pending.appId))],
    ]);
    const insertedKeys = new Set(written!.inserted.map((row) => key(row.app_id, row.message_id)));
    const trialRows = written!.trials;
    const revisions = written!.revisions;

    // 3. Save identity links (sorted, as above) and stitch the anonymous events they explain.
    let stitchedRows: Array<{ app_id: string; user_id: string; event: string | null; type: string; properties: Record<string, unknown> }> = [];
    if (links.size) {
      const linkRows = rowsParam(
        [...links.values()]
          .sort((x, y) => key(x.appId, x.anonymousId).localeCompare(key(y.appId, y.anonymousId)))
          .map((link) => ({ a: link.appId, n: link.anonymousId, u: link.userId, e: link.email })),
      );
      await executeBound(tx, SAVE_LINKS, [linkRows]);
      stitchedRows = await executeBound(tx, STITCH_EVENTS, [linkRows]);
    }
    return { insertedKeys, trialRows, stitchedRows, revisions };
  };
  const { insertedKeys, trialRows, stitchedRows, revisions } = links.size ? await em.transactional(persist) : await persist(em);

  return batch.map((pending) => ({
    events: pending.events.map((event) => ({ appId: pending.appId, event, fresh: insertedKeys.has(key(pending.appId, event.messageId)) })),
    stitched: stitchedRows
      .filter((row) => row.app_id === pending.appId)
      .map((row) => ({ appId: row.app_id, userId: row.user_id, event: row.event, type: row.type, properties: row.properties })),
    trials: trialRows
      .filter((row) => row.app_id === pending.appId)
      .map((row) => ({
        appId: row.app_id,
        userId: row.user_id,
        segment: row.segment,
        workflowId: row.workflow_id,
        ahaReachedAt: row.aha_reached_at === null ? null : new Date(row.aha_reached_at),
      })),
    settingsRevision: revisions[pending.appId] ?? null,
  }));
}
