/**
 * Bearer tokens to callers, checked on every operation (HTTP requests and each graphql-ws
 * operation). An API key's lookup is kept for a few seconds, and a revocation (heard from
 * every API process on the live feed) forgets it at once, so a revoked key stops working
 * everywhere within the notice's latency, not the cache's.
 */
import { timingSafeEqual } from 'node:crypto';
import { TtlCache } from '../infra/ttl-cache.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import { hashSecret } from '../ids.ts';
import { ApiKey } from '../modules/apps/api-key.entity.ts';

export type Auth = { kind: 'admin' } | { kind: 'app'; appId: string; keyId: string } | { kind: 'anonymous' };

const ANONYMOUS: Auth = { kind: 'anonymous' };
/** A bound on staleness should a revocation notice be missed (the feed reconnecting also clears the cache). */
const KEY_CACHE_MS = 5_000;

/** Whether the caller may see this app's things: the admin, or this app's own key. */
export function mayAccess(auth: Auth, appId: string): boolean {
  return auth.kind === 'admin' || (auth.kind === 'app' && auth.appId === appId);
}

export class Credentials {
  readonly #orm: MikroORM;
  /** The admin token's digest: a request's token is hashed once, for this comparison and the key lookup. */
  readonly #adminTokenHash: Buffer;
  readonly #keys = new TtlCache<string, Auth & { kind: 'app' }>(KEY_CACHE_MS);

  constructor(orm: MikroORM, adminToken: string) {
    this.#orm = orm;
    this.#adminTokenHash = Buffer.from(hashSecret(adminToken), 'hex');
  }

  /** Resolves `Bearer <token>` to the admin or to one app's key; anything else is anonymous. */
  async authenticate(authorization: unknown): Promise<Auth> {
    if (typeof authorization !== 'string') return ANONYMOUS;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) return ANONYMOUS;
    const token = match[1];
    const tokenHash = hashSecret(token);
    // Digests of equal length, compared in constant time: where a wrong token differs says nothing.
    if (timingSafeEqual(Buffer.from(tokenHash, 'hex'), this.#adminTokenHash)) return { kind: 'admin' };
    const cached = this.#keys.get(tokenHash);
    if (cached) return cached;
    const key = await this.#orm.em.fork().findOne(ApiKey, { tokenHash, revokedAt: null }, { fields: ['id', 'app'] });
    if (!key) {
      this.#keys.delete(tokenHash);
      return ANONYMOUS;
    }
    return this.#keys.set(tokenHash, { kind: 'app', appId: key.app.id, keyId: key.id });
  }

  /** Whether this Authorization header may read and change this app (for HTTP routes beside GraphQL). */
  async appAccess(authorization: unknown, appId: string): Promise<'allowed' | 'unauthenticated' | 'forbidden'> {
    const auth = await this.authenticate(authorization);
    if (auth.kind === 'anonymous') return 'unauthenticated';
    return mayAccess(auth, appId) ? 'allowed' : 'forbidden';
  }

  /** The key no longer authenticates anything in this process. */
  forget(keyId: string): void {
    this.#keys.deleteWhere((auth) => auth.keyId === keyId);
  }

  clear(): void {
    this.#keys.clear();
  }
}
