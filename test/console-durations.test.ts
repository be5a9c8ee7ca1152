/** The console's durations as people say them (console/src/durations.ts), to ISO-8601 and back. */
import { describe, expect, it } from 'vitest';
import { humanDuration, toIsoDuration } from '../console/src/durations.ts';

describe('durations as people say them', () => {
  it.each([
    ['3 days', 'P3D'],
    ['1 day', 'P1D'],
    ['90 minutes', 'PT90M'],
    ['1 week 2 days', 'P9D'],
    ['2 hours, 30 minutes', 'PT2H30M'],
    ['1 day and 12 hours', 'P1DT12H'],
    ['30s', 'PT30S'],
    ['  5 Seconds ', 'PT5S'],
    ['P3D', 'P3D'],
    ['pt30s', 'PT30S'],
    ['0 seconds', 'PT0S'],
  ])('%s → %s', (text, iso) => expect(toIsoDuration(text)).toBe(iso));

  it.each(['', 'soon', '3', 'days', '3 fortnights', '3 days later', 'P', 'PT'])('%j is no duration', (text) => expect(toIsoDuration(text)).toBeNull());

  it.each([
    ['P3D', '3 days'],
    ['P1D', '1 day'],
    ['PT1H30M', '1 hour 30 minutes'],
    ['PT30S', '30 seconds'],
    ['P1DT12H', '1 day 12 hours'],
    ['PT0S', '0 seconds'],
  ])('%s reads as %s', (iso, text) => expect(humanDuration(iso)).toBe(text));

  it('reads back what it shows: the default retry schedule round-trips', () => {
    const schedule = ['PT0S', 'PT5S', 'PT5M', 'PT30M', 'PT2H', 'PT5H', 'PT10H', 'PT14H', 'PT20H', 'PT24H', 'P1DT12H'];
    expect(schedule.map((step) => toIsoDuration(humanDuration(step)))).toEqual(schedule);
  });
});
