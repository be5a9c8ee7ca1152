/**
 * Live fan-out across API processes through PostgreSQL LISTEN/NOTIFY (no extra broker).
 * A notice is sent inside the transaction that records its subject, so subscribers hear
 * only of committed facts. One LISTEN connection per process carries every channel; each
 * notice is loaded once and offered to every local listener of its channel.
 */
import pg from 'pg';
import { Repeater } from 'graphql-yoga';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger.ts';

/** Called inside the recording transaction: PostgreSQL sends the notices on commit only. One round trip for all. */
export async function notify(em: EntityManager, channel: string, ...payloads: object[]): Promise<void> {
  if (payloads.length === 0) return;
  await em.execute('select pg_notify(?, value) from jsonb_array_elements_text(cast(? as jsonb))', [
    channel,
    JSON.stringify(payloads.map((payload) => JSON.stringify(payload))),
  ]);
}

export class FeedChannel<T> {
  readonly #listeners = new Set<(item: T) => void>();
  readonly #load: (payload: unknown) => Promise<T | null>;

  constructor(load: (payload: unknown) => Promise<T | null>) {
    this.#load = load;
  }

  /** Loads the notice's subject (once for all listeners) and offers it to each. */
  async offer(payload: unknown): Promise<void> {
    if (this.#listeners.size === 0) return;
    const item = await this.#load(payload);
    if (item !== null) for (const listener of this.#listeners) listener(item);
  }

  /** A listener for the process itself (not a subscriber); returns how to remove it. */
  listen(listener: (item: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  subscribe(accept: (item: T) => boolean): AsyncIterable<T> {
    return new Repeater<T>(async (push, stop) => {
      const listener = (item: T) => {
        if (accept(item)) void push(item);
      };
      this.#listeners.add(listener);
      await stop;
      this.#listeners.delete(listener);
    });
  }
}

export class PgFeed {
  readonly #channels = new Map<string, FeedChannel<unknown>>();
  #client: pg.Client | null = null;
  #stopped = false;
  readonly #reconnected = new Set<() => void>();
  readonly #url: string;
  readonly #logger: Logger;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
  }

  /** Registers a channel before start(). */
  channel<T>(name: string, load: (payload: unknown) => Promise<T | null>): FeedChannel<T> {
    const channel = new FeedChannel<T>(load);
    this.#channels.set(name, channel as FeedChannel<unknown>);
    return channel;
  }

  /** Called after the feed reconnected: notices sent meanwhile were missed. */
  onReconnect(listener: () => void): void {
    this.#reconnected.add(listener);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    client.on('notification', (message) => void this.#deliver(message.channel, message.payload));
    client.on('error', (error) => this.#reconnect(error));
    await client.connect();
    for (const name of this.#channels.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(name)}`);
    this.#client = client;
  }

  #reconnect(error: Error): void {
    if (this.#stopped) return;
    this.#logger.warn({ err: error.message }, 'live feed lost its database connection; reconnecting');
    void this.#client?.end().catch(() => undefined);
    this.#client = null;
    const retry = () =>
      this.start().then(
        () => {
          for (const listener of this.#reconnected) listener();
        },
        (again: Error) => {
          this.#logger.warn({ err: again.message }, 'live feed reconnect failed');
          if (!this.#stopped) setTimeout(retry, 1000);
        },
      );
    setTimeout(retry, 200);
  }

  async #deliver(name: string, payload: string | undefined): Promise<void> {
    const channel = this.#channels.get(name);
    if (!channel || !payload) return;
    try {
      await channel.offer(JSON.parse(payload));
    } catch (error) {
      this.#logger.error({ err: error, channel: name }, 'could not deliver a notice to subscribers');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#client?.end().catch(() => undefined);
  }
}

/**
 * What a reconnecting subscriber missed, then live, with no gap and no duplicate: the live
 * listener is attached before the past is read, and live items already replayed are skipped.
 */
export function replayThenLive<T extends { id: string }>(live: AsyncIterable<T>, past: () => Promise<T[]>): AsyncIterable<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = live[Symbol.asyncIterator]();
    // The first next() starts the live listener (a Repeater runs its executor on it).
    let pending = iterator.next();
    let stopped = false;
    const stopping = stop.then(() => {
      stopped = true;
      return { done: true as const, value: undefined };
    });
    const replayed = new Set<string>();
    for (const item of await past()) {
      replayed.add(item.id);
      await push(item);
    }
    while (!stopped) {
      const result = await Promise.race([pending, stopping]);
      if (result.done) break;
      if (!replayed.has(result.value.id)) await push(result.value);
      pending = iterator.next();
    }
    await iterator.return?.();
  });
}
