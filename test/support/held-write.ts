/**
 * Makes an ingest write wait halfway: a transaction here stores an event under a messageId first and keeps it
 * uncommitted, so a write of that messageId has taken its statement's snapshot and then waits on the unique
 * index until `release()` rolls the holder back (the write then stores its own event). What happens meanwhile
 * is invisible to that write's statement, as with concurrent requests.
 */
import pg from 'pg';
import { eventually } from './harness.ts';

export interface HeldWrite {
  /** Resolves once a statement is waiting on the held messageId. */
  waiting(): Promise<void>;
  /** Lets the waiting write go on (idempotent). */
  release(): Promise<void>;
}

export async function holdMessageId(databaseUrl: string, appId: string, messageId: string): Promise<HeldWrite> {
  const holder = new pg.Client({ connectionString: databaseUrl });
  await holder.connect();
  await holder.query('begin');
  await holder.query(
    `insert into events (app_id, message_id, type, event, properties, traits, context, timestamp, received_at)
     values ($1, $2, 'track', 'held', '{}', '{}', '{}', now(), now())`,
    [appId, messageId],
  );
  let released: Promise<void> | undefined;
  return {
    // A waiter on the held row waits for the holder's transaction id.
    waiting: async () => {
      await eventually(async () => {
        const { rows } = await holder.query(
          `select 1 from pg_locks where not granted and locktype = 'transactionid' and transactionid = pg_current_xact_id()::xid`,
        );
        return rows.length > 0 ? true : undefined;
      });
    },
    release: () => (released ??= holder.query('rollback').then(() => holder.end())),
  };
}
