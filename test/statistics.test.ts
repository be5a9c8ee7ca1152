/**
 * The statistics of conversion drivers and holdout reports (src/core/statistics.ts), checked
 * against published worked examples to their printed digits, and by simulation (seeded, so a
 * rate is the method's, not a lucky run's).
 */
import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, proportionDifference, sampleSizePerGroup, twoProportionPValue, wilsonInterval, zFor } from '../src/core/statistics.ts';
import { binomial, seededRandom } from './support/random.ts';

const round = (value: number, digits = 4) => Number(value.toFixed(digits));

describe('against published worked examples', () => {
  it("Newcombe (1998), Table II, method 10: the hybrid score interval of each of the paper's eight differences", () => {
    // [x1, n1, x2, n2, lower, upper] as printed (Statistics in Medicine 17:873–890); statsmodels' "newcomb" gives the same.
    const table: Array<[number, number, number, number, number, number]> = [
      [56, 70, 48, 80, 0.0524, 0.3339],
      [9, 10, 3, 10, 0.1705, 0.809],
      [6, 7, 2, 7, 0.0582, 0.8062],
      [5, 56, 0, 29, -0.0381, 0.1926],
      [0, 10, 0, 20, -0.1611, 0.2775],
      [0, 10, 0, 10, -0.2775, 0.2775],
      [10, 10, 0, 20, 0.6791, 1],
      [10, 10, 0, 10, 0.6075, 1],
    ];
    for (const [x1, n1, x2, n2, low, high] of table) {
      const interval = proportionDifference(x1, n1, x2, n2);
      expect([round(interval.low), round(interval.high)], `${x1}/${n1} − ${x2}/${n2}`).toEqual([low, high]);
    }
  });

  it("Newcombe (1998), single proportion: Wilson's interval for 81/263, 15/148, 0/20 and 1/29", () => {
    expect(round(zFor(0.95), 6)).toBe(1.959964);
    const intervals = [wilsonInterval(81, 263), wilsonInterval(15, 148), wilsonInterval(0, 20), wilsonInterval(1, 29)];
    expect(intervals.map(({ low, high }) => [round(low), round(high)])).toEqual([
      [0.2553, 0.3662],
      [0.0624, 0.1605],
      [0, 0.1611],
      [0.0061, 0.1718],
    ]);
  });

  it("Benjamini & Hochberg (1995): the fifteen p-values of their example, four discoveries at q = 0.05 (R's p.adjust 'BH' digits)", () => {
    const p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1];
    const q = benjaminiHochberg(p);
    expect(q.map((value) => round(value))).toEqual([
      0.0015, 0.003, 0.0095, 0.0356, 0.0603, 0.0639, 0.0639, 0.0645, 0.0765, 0.486, 0.5812, 0.7149, 0.7532, 0.8132, 1,
    ]);
    expect(q.filter((value) => value < 0.05)).toHaveLength(4);
    // The order given is kept.
    expect(benjaminiHochberg([0.04, 0.01, 0.03, 0.005])).toEqual([0.04, 0.02, 0.04, 0.02]);
  });

  it('the pooled two-proportion z test: 56/70 against 48/80 gives z = 2.650, p = 0.0080 (as statsmodels proportions_ztest)', () => {
    expect(round(twoProportionPValue(56, 70, 48, 80))).toBe(0.008);
    expect(twoProportionPValue(0, 10, 0, 10)).toBe(1);
    expect(twoProportionPValue(3, 0, 1, 10)).toBe(1);
  });
});

describe('by simulation', () => {
  it("Newcombe's interval covers the true difference 93–97 % of the time: 2,000 replications, p = 0.10 against 0.13, 400 trials a group", () => {
    const random = seededRandom(20261205);
    let covered = 0;
    for (let run = 0; run < 2000; run++) {
      const { low, high } = proportionDifference(binomial(random, 400, 0.13), 400, binomial(random, 400, 0.1), 400);
      if (low <= 0.03 && 0.03 <= high) covered++;
    }
    expect(covered / 2000).toBeGreaterThanOrEqual(0.93);
    expect(covered / 2000).toBeLessThanOrEqual(0.97);
  });

  it('the sample size asked for detects the difference with the power promised: 80 % ± 4 points over 1,000 replications at that size', () => {
    const n = sampleSizePerGroup(0.1, 0.13)!;
    expect(n).toBeGreaterThan(1500);
    expect(n).toBeLessThan(2000);
    const random = seededRandom(7);
    let detected = 0;
    for (let run = 0; run < 1000; run++) if (twoProportionPValue(binomial(random, n, 0.13), n, binomial(random, n, 0.1), n) < 0.05) detected++;
    expect(detected / 1000).toBeGreaterThanOrEqual(0.76);
    expect(detected / 1000).toBeLessThanOrEqual(0.84);
    expect(sampleSizePerGroup(0.2, 0.2)).toBeNull();
  });

  it('under no difference, the z test says p < 0.05 in 5 % ± 1.5 points of 2,000 replications', () => {
    const random = seededRandom(11);
    let rejected = 0;
    for (let run = 0; run < 2000; run++) if (twoProportionPValue(binomial(random, 300, 0.2), 300, binomial(random, 300, 0.2), 300) < 0.05) rejected++;
    expect(rejected / 2000).toBeGreaterThanOrEqual(0.035);
    expect(rejected / 2000).toBeLessThanOrEqual(0.065);
  });
});
