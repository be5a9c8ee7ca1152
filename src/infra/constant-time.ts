/** Comparisons of secrets whose time does not depend on where they differ. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** A signature given as hex against the expected bytes (a wrong length is simply unequal). */
export function sameHexSignature(given: string, expected: Buffer): boolean {
  const bytes = Buffer.from(given, 'hex');
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

/** Two secrets of any lengths, compared through their digests. */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
