/** Documents and bodies a hostile client sends, shared by the hostile-client tests and the fuzzer. */

/** `fragment F0 on Query{__typename} fragment F1 on Query{...F0 ...F0} … {...F<levels-1>}`: 2^levels fields when expanded. */
export function doublingFragments(levels: number, base = '__typename'): string {
  const fragments = Array.from({ length: levels }, (_, i) =>
    i === 0 ? `fragment F0 on Query{${base}}` : `fragment F${i} on Query{...F${i - 1} ...F${i - 1}}`,
  );
  return `${fragments.join(' ')} {...F${levels - 1}}`;
}

/** A selection nested `depth` levels: `{a{a{…b…}}}`. */
export const deepSelection = (depth: number) => `{${'a{'.repeat(depth)}b${'}'.repeat(depth + 1)}`;

/** JSON text nested `depth` levels, written without recursion (JSON.stringify would overflow). */
export const deepJson = (depth: number, open = '{"a":', close = '}') => `${open.repeat(depth)}1${close.repeat(depth)}`;
