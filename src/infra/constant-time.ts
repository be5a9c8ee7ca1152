/** Comparisons of secrets whose time does not depend on where they differ. */
import { timingSafeEqual } from 'node:crypto';

/** A signature given as hex against the expected bytes (a wrong length is simply unequal). */
export function sameHexSignature(given: string, expected: Buffer): boolean {
  const bytes = Buffer.from(given, 'hex');
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}
