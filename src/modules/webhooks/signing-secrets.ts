/**
 * Endpoints' signing secrets (`whsec_…`) are kept sealed with the server's key (SecretBox), like
 * destinations' credentials: a copy of the database alone signs nothing. They are opened to sign
 * an attempt and to show the secret to the app's owner. Rows from before sealing hold the secret
 * as it was: each process seals them when it starts, and until then (a rolling deploy) such a
 * value is used as it is.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { SecretBox } from '../../secret-box.ts';

const PLAIN_PREFIX = 'whsec_';

/** The secret a stored value stands for: opened, or a value stored before sealing, as it is. */
export function openSigningSecret(stored: string, secrets: SecretBox): string {
  return stored.startsWith(PLAIN_PREFIX) ? stored : secrets.open(stored);
}

/**
 * Seals the signing secrets still stored plain; returns how many endpoints it sealed. Safe to run
 * in every process at once: a row is written only as it was read.
 */
export async function sealPlainSigningSecrets(orm: MikroORM, secrets: SecretBox): Promise<number> {
  const connection = orm.em.fork().getConnection();
  const rows = await connection.execute<Array<{ id: string; secret: string; previous_secret: string | null }>>(
    `select id, secret, previous_secret from webhook_endpoints where starts_with(secret, ?) or starts_with(previous_secret, ?)`,
    [PLAIN_PREFIX, PLAIN_PREFIX],
  );
  const seal = (value: string) => (value.startsWith(PLAIN_PREFIX) ? secrets.seal(value) : value);
  let sealed = 0;
  for (const { id, secret, previous_secret: previous } of rows) {
    const result = await connection.execute(
      `update webhook_endpoints set secret = ?, previous_secret = ? where id = ? and secret = ? and previous_secret is not distinct from ?`,
      [seal(secret), previous === null ? null : seal(previous), id, secret, previous],
      'run',
    );
    sealed += (result as { affectedRows?: number }).affectedRows ?? 0;
  }
  return sealed;
}
