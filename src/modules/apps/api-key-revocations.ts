/** Revoked API keys on the live feed: every API process forgets the key and closes its sockets. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { notify, type PgFeed } from '../../infra/pg-feed.ts';

const CHANNEL = 'api_key_revocations';

export interface KeyRevoked {
  keyId: string;
  appId: string;
}

/** Inside the transaction that revokes the key: heard only once the revocation is committed. */
export async function notifyKeyRevoked(em: EntityManager, notice: KeyRevoked): Promise<void> {
  await notify(em, CHANNEL, notice);
}

export function keyRevocationChannel(feed: PgFeed) {
  return feed.channel<KeyRevoked>(CHANNEL, async (notice) => notice as KeyRevoked);
}
