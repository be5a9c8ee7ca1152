import pg from 'pg';
import { Repeater } from 'graphql-yoga';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../logger.ts';
import { SegmentChange, type ISegmentChange } from './segment-change.entity.ts';

/** PostgreSQL channel that carries recorded transitions to every API process. */
const CHANNEL = 'segment_changes';

interface Notice {
  id: string;
  appId: string;
  trialId: string;
}

/** Called inside the transaction that records the change: the notice is sent on commit only. */
export async function notifySegmentChange(em: EntityManager, notice: Notice): Promise<void> {
  await em.execute(`select pg_notify('${CHANNEL}', ?)`, [JSON.stringify(notice)]);
}

type Listener = (change: ISegmentChange) => void;

/**
 * Fans recorded segment changes out to this process's subscribers. One LISTEN connection
 * per process; each notice is loaded once (with its trial) and offered to every listener.
 */
export class SegmentChangeFeed {
  readonly #listeners = new Set<Listener>();
  #client: pg.Client | null = null;
  #stopped = false;
  readonly #orm: MikroORM;
  readonly #url: string;
  readonly #logger: Logger;

  constructor(orm: MikroORM, url: string, logger: Logger) {
    this.#orm = orm;
    this.#url = url;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => void this.#deliver(message.payload));
    client.on('error', (error) => this.#reconnect(error));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#client = client;
  }

  #reconnect(error: Error): void {
    if (this.#stopped) return;
    this.#logger.warn({ err: error.message }, 'segment change feed lost its connection; reconnecting');
    void this.#client?.end().catch(() => undefined);
    this.#client = null;
    const retry = () =>
      this.start().catch((again: Error) => {
        this.#logger.warn({ err: again.message }, 'segment change feed reconnect failed');
        if (!this.#stopped) setTimeout(retry, 1000);
      });
    setTimeout(retry, 200);
  }

  async #deliver(payload: string | undefined): Promise<void> {
    if (!payload || this.#listeners.size === 0) return;
    try {
      const notice = JSON.parse(payload) as Notice;
      const change = await this.#orm.em.fork().findOne(SegmentChange, { id: notice.id }, { populate: ['trial'] });
      if (change) for (const listener of this.#listeners) listener(change);
    } catch (error) {
      this.#logger.error({ err: error }, 'could not deliver a segment change to subscribers');
    }
  }

  subscribe(accept: (change: ISegmentChange) => boolean): AsyncIterable<ISegmentChange> {
    return new Repeater<ISegmentChange>(async (push, stop) => {
      const listener: Listener = (change) => {
        if (accept(change)) void push(change);
      };
      this.#listeners.add(listener);
      await stop;
      this.#listeners.delete(listener);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#client?.end().catch(() => undefined);
  }
}
