/**
 * Per-request batching (the DataLoader idea): every load() of one loader made while a
 * request's resolvers run in the same turn becomes one query, so a page of trials with
 * their changes costs a constant number of SQL queries, not one per trial.
 */
const loaders = new WeakMap<object, Map<string, BatchLoader<unknown, unknown>>>();

export class BatchLoader<K, V> {
  #keys: K[] = [];
  #waiting: Array<{ key: K; resolve: (value: V | undefined) => void; reject: (error: unknown) => void }> = [];
  readonly #batch: (keys: K[]) => Promise<Map<K, V>>;

  constructor(batch: (keys: K[]) => Promise<Map<K, V>>) {
    this.#batch = batch;
  }

  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) setImmediate(() => void this.#dispatch());
      if (!this.#keys.includes(key)) this.#keys.push(key);
      this.#waiting.push({ key, resolve, reject });
    });
  }

  async #dispatch(): Promise<void> {
    const keys = this.#keys;
    const waiting = this.#waiting;
    this.#keys = [];
    this.#waiting = [];
    try {
      const values = await this.#batch(keys);
      for (const { key, resolve } of waiting) resolve(values.get(key));
    } catch (error) {
      for (const { reject } of waiting) reject(error);
    }
  }
}

/** The request's loader of this name (made on first use); `scope` is the request's context. */
export function loaderFor<K, V>(scope: object, name: string, batch: (keys: K[]) => Promise<Map<K, V>>): BatchLoader<K, V> {
  let byName = loaders.get(scope);
  if (!byName) loaders.set(scope, (byName = new Map()));
  let loader = byName.get(name) as BatchLoader<K, V> | undefined;
  if (!loader) byName.set(name, (loader = new BatchLoader(batch)) as BatchLoader<unknown, unknown>);
  return loader;
}
