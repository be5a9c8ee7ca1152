/**
 * What PostgreSQL refuses in text and jsonb: the NUL character (`\u0000`, in text and as a jsonb
 * escape) and lone UTF-16 surrogates (jsonb refuses the escape `\ud800`; text would store mojibake).
 * Everything from outside passes one of these two at the edge: what a client sent is refused,
 * naming the field (`unstorableText`), and what a receiver answered is cleaned (`storableText`).
 */

/** The cleaned form: NUL and lone surrogates become U+FFFD, as a decoder shows bytes it cannot read. */
export function storableText(text: string): string {
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  return withoutNul.isWellFormed() ? withoutNul : withoutNul.toWellFormed();
}

export interface TextProblem {
  /** Where the bad string is, e.g. `properties.plan` or `headers.0.value` (empty: the value itself). */
  path: string;
  message: string;
}

const problemOf = (text: string): string | null =>
  text.includes('\u0000') ? 'must not contain the NUL character (\\u0000)' : text.isWellFormed() ? null : 'must be valid Unicode (a lone surrogate was sent)';

interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | null;
  key: string;
}

/** `b.0.c`: built only when there is a problem (ingest checks every message; most are fine). */
function pathOf(visit: Visit | null, lastKey?: string): string {
  const parts: string[] = lastKey === undefined ? [] : [storableText(lastKey)];
  for (let at = visit; at?.parent; at = at.parent) parts.push(at.key);
  return parts.reverse().join('.');
}

/**
 * The first string (keys included) of a JSON-like value that PostgreSQL would refuse, or null.
 * Walked with an explicit stack to `maxDepth` levels, one visit per value: the cost is bounded
 * by the input's size, and deep input is reported rather than overflowing the call stack.
 */
export function unstorableText(value: unknown, maxDepth = 64): TextProblem | null {
  const stack: Visit[] = [{ value, depth: 0, parent: null, key: '' }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const current = visit.value;
    if (typeof current === 'string') {
      const message = problemOf(current);
      if (message) return { path: pathOf(visit), message };
      continue;
    }
    if (typeof current !== 'object' || current === null || current instanceof Date) continue;
    if (visit.depth >= maxDepth) return { path: pathOf(visit), message: `must not nest deeper than ${maxDepth} levels` };
    for (const [key, inner] of Object.entries(current)) {
      const keyProblem = problemOf(key);
      // The bad key is named cleaned: the answer (and any log of it) must be storable too.
      if (keyProblem) return { path: pathOf(visit, key), message: `has a key that ${keyProblem}` };
      stack.push({ value: inner, depth: visit.depth + 1, parent: visit, key });
    }
  }
  return null;
}

/** `properties.plan: must not contain …`, or the message alone for the value itself. */
export const describeTextProblem = ({ path, message }: TextProblem, subject = 'strings'): string => `${path || subject} ${message}`;
