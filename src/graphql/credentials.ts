/**
 * Bearer tokens to callers, checked on every operation (HTTP requests and each graphql-ws
 * operation). An API key's lookup is kept for a few seconds, and a revocation (heard from
 * every API process on the live feed) forgets it at once, so a revoked key stops working
 * everywhere within the notice's latency, not the cache's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { hashSecret } from '../ids.ts';
import { ApiKey } from '../modules/apps/api-key.entity.ts';

export type Auth = { kind: 'admin' } | { kind: 'app'; appId: string; keyId: string } | { kind: 'anonymous' };

const ANONYMOUS: Auth = { kind: 'anonymous' };
/** A bound on staleness should a revocation notice be missed (the feed reconnecting also clears the cache). */
const KEY_CACHE_MS = 5_000;
const MAX_CACHED_KEYS = 10_000;

function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export class Credentials {
  readonly #orm: MikroORM;
  readonly #adminToken: string;
  readonly #keys = new Map<string, { auth: Auth & { kind: 'app' }; until: number }>();

  constructor(orm: MikroORM, adminToken: string) {
    this.#orm = orm;
    this.#adminToken = adminToken;
  }

  /** Resolves `Bearer <token>` to the admin or to one app's key; anything else is anonymous. */
  async authenticate(authorization: unknown): Promise<Auth> {
    if (typeof authorization !== 'string') return ANONYMOUS;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) return ANONYMOUS;
    const token = match[1];
    if (sameSecret(token, this.#adminToken)) return { kind: 'admin' };
    const tokenHash = hashSecret(token);
    const cached = this.#keys.get(tokenHash);
    if (cached && cached.until > Date.now()) return cached.auth;
    const key = await this.#orm.em.fork().findOne(ApiKey, { tokenHash, revokedAt: null }, { fields: ['id', 'app'] });
    if (!key) {
      this.#keys.delete(tokenHash);
      return ANONYMOUS;
    }
    const auth = { kind: 'app' as const, appId: key.app.id, keyId: key.id };
    if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.clear();
    this.#keys.set(tokenHash, { auth, until: Date.now() + KEY_CACHE_MS });
    return auth;
  }

  /** The key no longer authenticates anything in this process. */
  forget(keyId: string): void {
    for (const [hash, entry] of this.#keys) if (entry.auth.keyId === keyId) this.#keys.delete(hash);
  }

  clear(): void {
    this.#keys.clear();
  }
}
