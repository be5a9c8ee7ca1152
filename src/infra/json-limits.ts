/**
 * Parsed JSON a client sent, checked by a loop over an explicit stack (no recursion), so that
 * nothing recursive that runs on it later (JSON.stringify, validation, graphql-js's variable
 * coercion) can overflow the call stack: it nests at most `limit` levels, and every number is
 * finite (JSON.parse reads 1e309 as Infinity, which would be stored as null). The cost is one
 * visit per value.
 */
interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | null;
  key: string;
}

/** `properties.big`, `batch.3.properties.big`: the path is built only when there is a problem. */
function pathOf(visit: Visit): string {
  const parts: string[] = [];
  for (let at: Visit | null = visit; at?.parent; at = at.parent) parts.push(at.key);
  return parts.reverse().join('.');
}

export function jsonProblem(value: unknown, limit: number, what = 'the body'): string | null {
  const stack: Visit[] = [{ value, depth: 0, parent: null, key: '' }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const current = visit.value;
    if (typeof current === 'number' && !Number.isFinite(current)) {
      return `${pathOf(visit) || what} must be a finite number (JSON numbers such as 1e309 overflow)`;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (visit.depth >= limit) return `${what} nests deeper than ${limit} levels; the limit is ${limit}`;
    for (const [key, inner] of Object.entries(current)) stack.push({ value: inner, depth: visit.depth + 1, parent: visit, key });
  }
  return null;
}
