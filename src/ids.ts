import { createHash, randomBytes } from 'node:crypto';

/**
 * Prefixed, time-ordered ids (`app_…`, `trl_…`): the prefix tells a reader (and the
 * Relay `node` resolver) what a bare id is; the time part keeps ids sortable for cursors.
 */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, '0');
  return `${prefix}_${time}${randomBytes(8).toString('hex')}`;
}

/** A secret shown to its owner once; only its hash is stored. */
export function newSecret(prefix: string, bytes = 24): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
