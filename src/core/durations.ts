/**
 * ISO-8601 durations for settings (`P3D`, `PT5S`, `P1DT12H`, `P2W`). Years and months are
 * refused: their length depends on the calendar, and thresholds must be exact. Pure.
 */
const PATTERN = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

export function parseIsoDuration(text: string): number | null {
  const match = PATTERN.exec(text.trim().toUpperCase());
  if (!match) return null;
  const [, weeks, days, hours, minutes, seconds] = match;
  const ms =
    Number(weeks ?? 0) * 604_800_000 +
    Number(days ?? 0) * 86_400_000 +
    Number(hours ?? 0) * 3_600_000 +
    Number(minutes ?? 0) * 60_000 +
    Math.round(Number(seconds ?? 0) * 1000);
  return ms;
}
