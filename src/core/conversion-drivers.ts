/**
 * Which product events predict conversion: for each event name, the finished trials that did it
 * before their outcome against those that did not, the difference in conversion rate with
 * Newcombe's interval, and a Benjamini–Hochberg q-value across the names tested. Pure.
 */
import { benjaminiHochberg, proportionDifference, twoProportionPValue } from './statistics.ts';

/** Fewer finished trials than this on either side (did it / did not) and a name is flagged, not ranked. */
export const MIN_GROUP = 20;

export interface EventOutcomes {
  event: string;
  /** Finished trials that did the event before their outcome, and how many of them converted. */
  trialsWith: number;
  convertedWith: number;
}

export interface ConversionDriver extends EventOutcomes {
  trialsWithout: number;
  convertedWithout: number;
  rateWith: number | null;
  rateWithout: number | null;
  /** rateWith − rateWithout, with its 95 % interval. */
  difference: number | null;
  low: number | null;
  high: number | null;
  pValue: number | null;
  /** The false-discovery rate at which this name would be called a driver; null when not tested. */
  qValue: number | null;
  /** Too few trials on one side to say anything: shown, not ranked. */
  tooFew: boolean;
}

/**
 * The names ranked: tested ones by q-value (then by the size of the difference), the too-small
 * ones after them by how many did the event.
 */
export function rankDrivers(finished: { trials: number; converted: number }, events: readonly EventOutcomes[]): ConversionDriver[] {
  const rows = events.map((row) => {
    const trialsWithout = finished.trials - row.trialsWith;
    const convertedWithout = finished.converted - row.convertedWith;
    const tooFew = row.trialsWith < MIN_GROUP || trialsWithout < MIN_GROUP;
    const interval = tooFew ? null : proportionDifference(row.convertedWith, row.trialsWith, convertedWithout, trialsWithout);
    return {
      ...row,
      trialsWithout,
      convertedWithout,
      rateWith: row.trialsWith ? row.convertedWith / row.trialsWith : null,
      rateWithout: trialsWithout ? convertedWithout / trialsWithout : null,
      difference: interval?.difference ?? null,
      low: interval?.low ?? null,
      high: interval?.high ?? null,
      pValue: tooFew ? null : twoProportionPValue(row.convertedWith, row.trialsWith, convertedWithout, trialsWithout),
      qValue: null as number | null,
      tooFew,
    };
  });
  const tested = rows.filter((row) => !row.tooFew);
  benjaminiHochberg(tested.map((row) => row.pValue!)).forEach((q, index) => (tested[index]!.qValue = q));
  const byEvidence = (a: ConversionDriver, b: ConversionDriver) => a.qValue! - b.qValue! || Math.abs(b.difference!) - Math.abs(a.difference!);
  return [...tested.sort(byEvidence), ...rows.filter((row) => row.tooFew).sort((a, b) => b.trialsWith - a.trialsWith)];
}
