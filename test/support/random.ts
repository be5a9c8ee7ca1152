/** Seeded randomness for simulations: the same draws on every run, so a simulated rate is a property of the method, not of the day. */

/** A seeded uniform [0, 1) generator (mulberry32: 32-bit state, passes the usual statistical tests for this use). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A binomial draw: successes among n trials of probability p. */
export function binomial(random: () => number, n: number, p: number): number {
  let successes = 0;
  for (let i = 0; i < n; i++) if (random() < p) successes++;
  return successes;
}
