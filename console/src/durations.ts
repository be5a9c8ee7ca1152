/**
 * Durations as people say them ("3 days", "90 minutes", "1 week 2 days", "30s") to the API's
 * ISO-8601 (P3D, PT90M, P9D, PT30S) and back. Pure; an ISO-8601 duration typed as such passes.
 */
const UNITS: Array<{ names: string[]; designator: 'D' | 'H' | 'M' | 'S'; factor: number; time: boolean }> = [
  { names: ['w', 'week', 'weeks'], designator: 'D', factor: 7, time: false },
  { names: ['d', 'day', 'days'], designator: 'D', factor: 1, time: false },
  { names: ['h', 'hr', 'hrs', 'hour', 'hours'], designator: 'H', factor: 1, time: true },
  { names: ['m', 'min', 'mins', 'minute', 'minutes'], designator: 'M', factor: 1, time: true },
  { names: ['s', 'sec', 'secs', 'second', 'seconds'], designator: 'S', factor: 1, time: true },
];

/** The ISO-8601 form of what a person typed, or null when it says no duration. */
export function toIsoDuration(text: string): string | null {
  const trimmed = text.trim();
  if (/^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/i.test(trimmed)) return trimmed.toUpperCase();
  let rest = trimmed.toLowerCase().replace(/,|\band\b/g, ' ');
  const totals = { D: 0, H: 0, M: 0, S: 0 };
  let parts = 0;
  for (let match = /^\s*(\d+)\s*([a-z]+)\s*/.exec(rest); match; match = /^\s*(\d+)\s*([a-z]+)\s*/.exec(rest)) {
    const unit = UNITS.find((candidate) => candidate.names.includes(match![2]!));
    if (!unit) return null;
    totals[unit.designator] += Number(match[1]) * unit.factor;
    parts += 1;
    rest = rest.slice(match[0].length);
  }
  if (rest.trim() !== '' || parts === 0) return null;
  const date = totals.D ? `${totals.D}D` : '';
  const time = (['H', 'M', 'S'] as const).map((designator) => (totals[designator] ? `${totals[designator]}${designator}` : '')).join('');
  // "0 seconds": at once (a retry schedule's first step); whether zero is allowed is the API's to say.
  if (!date && !time) return 'PT0S';
  return `P${date}${time ? `T${time}` : ''}`;
}

const plural = (amount: number, unit: string) => `${amount} ${unit}${amount === 1 ? '' : 's'}`;

/** How a person says an ISO-8601 duration: P3D → "3 days", PT1H30M → "1 hour 30 minutes". */
export function humanDuration(iso: string): string {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(iso);
  if (!match) return iso;
  const [, days, hours, minutes, seconds] = match.map((value) => (value === undefined ? 0 : Number(value)));
  const words = [
    days && plural(days, 'day'),
    hours && plural(hours, 'hour'),
    minutes && plural(minutes, 'minute'),
    seconds && plural(seconds, 'second'),
  ].filter(Boolean);
  return words.length ? words.join(' ') : '0 seconds';
}

/** Seconds as a person says a span, the two largest units: 93784 → "1 day 2 hours". */
export function humanSeconds(seconds: number): string {
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [size, unit] of [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ] as const) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount && parts.length < 2) parts.push(plural(amount, unit));
  }
  return parts.length ? parts.join(' ') : '0 seconds';
}
