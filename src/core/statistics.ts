/**
 * The statistics behind conversion drivers and holdout reports. Pure. The normal distribution's
 * quantile and CDF come from stdlib (`@stdlib/stats-base-dists-normal-*`, maintained, tested
 * against reference values); the formulas built on them are checked against published worked
 * examples (Newcombe 1998's Table II; Benjamini & Hochberg 1995's fifteen p-values) and by
 * simulation (test/statistics.test.ts).
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

export interface Interval {
  low: number;
  high: number;
}

/** The standard normal quantile at the two-sided confidence given (1.959964… for 95 %). */
export const zFor = (confidence: number): number => normalQuantile(1 - (1 - confidence) / 2, 0, 1);

/**
 * Wilson's score interval for a proportion (Wilson 1927; Newcombe 1998's method 3): unlike the
 * Wald interval it stays inside [0, 1] and keeps its coverage for small groups and rare events.
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const z = zFor(confidence);
  const p = successes / n;
  const centre = p + (z * z) / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  const denominator = 1 + (z * z) / n;
  return { low: Math.max(0, (centre - spread) / denominator), high: Math.min(1, (centre + spread) / denominator) };
}

/**
 * The difference of two independent proportions, x1/n1 − x2/n2, with Newcombe's hybrid score
 * interval (1998, method 10: each group's Wilson interval combined): good coverage where the
 * Wald interval fails (small groups, rates near 0 or 1).
 */
export function proportionDifference(x1: number, n1: number, x2: number, n2: number, confidence = 0.95): Interval & { difference: number } {
  const p1 = n1 ? x1 / n1 : 0;
  const p2 = n2 ? x2 / n2 : 0;
  const first = wilsonInterval(x1, n1, confidence);
  const second = wilsonInterval(x2, n2, confidence);
  const difference = p1 - p2;
  return {
    difference,
    low: difference - Math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2),
    high: difference + Math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2),
  };
}

/** The two-sided p-value of the pooled two-proportion z test of x1/n1 = x2/n2 (1 when either group is empty or nothing varies). */
export function twoProportionPValue(x1: number, n1: number, x2: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 1;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return 1;
  const z = Math.abs(x1 / n1 - x2 / n2) / se;
  return Math.min(1, 2 * (1 - normalCdf(z, 0, 1)));
}

/**
 * Benjamini–Hochberg q-values (adjusted p-values, as R's p.adjust(p, "BH")), in the order given:
 * the smallest false-discovery rate at which each test would be called a discovery.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, index) => ({ p, index })).sort((a, b) => b.p - a.p);
  const q = new Array<number>(m);
  let running = 1;
  for (const [rank, { p, index }] of order.entries()) {
    // rank 0 is the largest p, whose position from the smallest is m.
    running = Math.min(running, (p * m) / (m - rank));
    q[index] = running;
  }
  return q;
}

/**
 * Trials needed in each group for a two-sided test at `alpha` to detect p1 against p2 with the
 * power asked (the normal approximation, Fleiss's formula without continuity correction); null
 * when the two are equal (no size detects no difference).
 */
export function sampleSizePerGroup(p1: number, p2: number, { alpha = 0.05, power = 0.8 } = {}): number | null {
  if (p1 === p2) return null;
  const mean = (p1 + p2) / 2;
  const a = zFor(1 - alpha) * Math.sqrt(2 * mean * (1 - mean));
  const b = normalQuantile(power, 0, 1) * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((a + b) ** 2 / (p1 - p2) ** 2);
}
