/**
 * A holdout's report, from the two groups' counts: their conversion rates among finished trials,
 * the exposed group's lift over the held-out group with Newcombe's interval and a p-value, and
 * how many finished trials a group would need to detect the difference seen, so "not enough data
 * yet" is said rather than implied. Pure.
 */
import { proportionDifference, sampleSizePerGroup, twoProportionPValue } from './statistics.ts';

export interface GroupCounts {
  trials: number;
  converted: number;
  expired: number;
}

export interface GroupReport extends GroupCounts {
  open: number;
  /** converted ÷ (converted + expired); null before any finished. */
  conversionRate: number | null;
}

export interface HoldoutReport {
  exposed: GroupReport;
  heldOut: GroupReport;
  /** Exposed rate − held-out rate (absolute), with its 95 % interval; null until both groups have finished trials. */
  difference: number | null;
  low: number | null;
  high: number | null;
  pValue: number | null;
  /** exposed ÷ held out − 1; null when the held-out rate is 0 or unknown. */
  relativeLift: number | null;
  /** Finished trials a group needs to detect the difference seen (80 % power, 5 % two-sided); null with no difference to detect. */
  neededPerGroup: number | null;
  /** Both groups have that many finished trials. */
  enoughData: boolean;
}

const group = (counts: GroupCounts): GroupReport => {
  const finished = counts.converted + counts.expired;
  return { ...counts, open: counts.trials - finished, conversionRate: finished ? counts.converted / finished : null };
};

export function holdoutReport(exposedCounts: GroupCounts, heldOutCounts: GroupCounts): HoldoutReport {
  const exposed = group(exposedCounts);
  const heldOut = group(heldOutCounts);
  const finishedExposed = exposed.converted + exposed.expired;
  const finishedHeldOut = heldOut.converted + heldOut.expired;
  if (exposed.conversionRate === null || heldOut.conversionRate === null) {
    return { exposed, heldOut, difference: null, low: null, high: null, pValue: null, relativeLift: null, neededPerGroup: null, enoughData: false };
  }
  const interval = proportionDifference(exposed.converted, finishedExposed, heldOut.converted, finishedHeldOut);
  const neededPerGroup = sampleSizePerGroup(exposed.conversionRate, heldOut.conversionRate);
  return {
    exposed,
    heldOut,
    ...interval,
    pValue: twoProportionPValue(exposed.converted, finishedExposed, heldOut.converted, finishedHeldOut),
    relativeLift: heldOut.conversionRate > 0 ? exposed.conversionRate / heldOut.conversionRate - 1 : null,
    neededPerGroup,
    enoughData: neededPerGroup !== null && Math.min(finishedExposed, finishedHeldOut) >= neededPerGroup,
  };
}

const points = (value: number) => `${(value * 100).toFixed(1)} points`;

/** The report in one sentence, "not enough data yet" said when it is so. */
export function verdictOf(report: HoldoutReport): string {
  const finished = (group: GroupReport) => group.converted + group.expired;
  if (report.difference === null) {
    const waiting = finished(report.exposed) === 0 ? 'exposed' : 'held out';
    return `Not enough data yet: no ${waiting} trial has finished (converted or expired).`;
  }
  const interval = `95 % interval ${points(report.low!)} to ${points(report.high!)}`;
  if (!report.enoughData) {
    const have = Math.min(finished(report.exposed), finished(report.heldOut));
    return report.neededPerGroup === null
      ? `Not enough data yet: no difference so far (${interval}).`
      : `Not enough data yet: telling a difference of ${points(Math.abs(report.difference))} apart from none needs ${report.neededPerGroup} finished trials a group; the smaller group has ${have} (${interval}).`;
  }
  if (report.low! > 0) return `Sending raises conversion by ${points(report.difference)} (${interval}).`;
  if (report.high! < 0) return `Sending lowers conversion by ${points(-report.difference)} (${interval}).`;
  return `No difference shown (${interval}).`;
}
