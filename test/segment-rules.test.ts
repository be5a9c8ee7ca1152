import { describe, expect, it } from 'vitest';
import { decideSegment, nextThresholdAt, phaseAt, reasonFor, type SegmentSettings, type TrialPhase } from '../src/core/segment-rules.ts';
import { parseIsoDuration } from '../src/core/durations.ts';

const HOUR = 3_600_000;
const settings: SegmentSettings = { inactivityAfterMs: 10 * HOUR, endingSoonBeforeMs: 48 * HOUR, lastChanceBeforeMs: 24 * HOUR };
const trialEnd = 1_000 * HOUR;

/** A moment inside each phase, and an activity time that makes the user active or quiet then. */
const NOW: Record<TrialPhase, number> = {
  early: trialEnd - 100 * HOUR,
  ending_soon: trialEnd - 30 * HOUR,
  last_chance: trialEnd - 5 * HOUR,
  ended: trialEnd + HOUR,
};

describe('decideSegment: every cell of the table', () => {
  it.each([
    ['early', false, true, 'exploring'],
    ['early', false, false, 'gone_quiet'],
    ['early', true, true, 'found_value'],
    ['early', true, false, 'needs_nudge'],
    ['ending_soon', false, true, 'slipping_away'],
    ['ending_soon', false, false, 'slipping_away'],
    ['ending_soon', true, true, 'on_track_to_convert'],
    ['ending_soon', true, false, 'needs_nudge'],
    ['last_chance', false, true, 'last_chance'],
    ['last_chance', false, false, 'last_chance'],
    ['last_chance', true, true, 'on_track_to_convert'],
    ['last_chance', true, false, 'last_chance'],
    ['ended', false, true, 'expired'],
    ['ended', false, false, 'expired'],
    ['ended', true, true, 'expired'],
    ['ended', true, false, 'expired'],
  ] as const)('%s, aha=%s, active=%s → %s', (phase, ahaReached, active, expected) => {
    const now = NOW[phase];
    const lastActivityAt = active ? now - HOUR : now - 11 * HOUR;
    expect(phaseAt(now, trialEnd, settings)).toBe(phase);
    expect(decideSegment({ converted: false, ahaReached, lastActivityAt, trialEnd }, now, settings)).toBe(expected);
  });

  it.each(Object.keys(NOW) as TrialPhase[])('converted wins in the %s phase', (phase) => {
    expect(decideSegment({ converted: true, ahaReached: false, lastActivityAt: 0, trialEnd }, NOW[phase], settings)).toBe('converted');
  });

  it('the thresholds are exact: active strictly before inactivityAfter, a phase starts at its boundary', () => {
    const now = NOW.early;
    const signals = { converted: false, ahaReached: false, trialEnd };
    expect(decideSegment({ ...signals, lastActivityAt: now - 10 * HOUR + 1 }, now, settings)).toBe('exploring');
    expect(decideSegment({ ...signals, lastActivityAt: now - 10 * HOUR }, now, settings)).toBe('gone_quiet');
    expect(phaseAt(trialEnd - 48 * HOUR, trialEnd, settings)).toBe('ending_soon');
    expect(phaseAt(trialEnd - 48 * HOUR - 1, trialEnd, settings)).toBe('early');
    expect(phaseAt(trialEnd, trialEnd, settings)).toBe('ended');
  });
});

describe('reasonFor', () => {
  it.each([
    ['trial_started', 'exploring', 'early', true, 'trial_started'],
    ['aha_event', 'found_value', 'early', true, 'aha_event_received'],
    ['activity', 'exploring', 'early', true, 'activity_resumed'],
    ['timer', 'gone_quiet', 'early', false, 'inactivity'],
    ['timer', 'needs_nudge', 'ending_soon', false, 'inactivity'],
    ['timer', 'slipping_away', 'ending_soon', true, 'trial_ending_soon'],
    ['timer', 'on_track_to_convert', 'ending_soon', true, 'trial_ending_soon'],
    ['timer', 'last_chance', 'last_chance', false, 'last_day'],
    ['timer', 'expired', 'ended', false, 'trial_expired'],
    ['converted', 'converted', 'early', true, 'converted'],
    ['settings_changed', 'gone_quiet', 'early', false, 'settings_changed'],
    ['trial_extended', 'exploring', 'early', true, 'trial_extended'],
  ] as const)('%s into %s (%s, active=%s) → %s', (trigger, next, phase, active, reason) => {
    expect(reasonFor(trigger, next, phase, active)).toBe(reason);
  });
});

describe('nextThresholdAt', () => {
  it('is the nearest future threshold, and none once converted', () => {
    const now = NOW.early;
    const signals = { converted: false, ahaReached: false, lastActivityAt: now - HOUR, trialEnd };
    expect(nextThresholdAt(signals, now, settings)).toBe(now + 9 * HOUR);
    expect(nextThresholdAt({ ...signals, lastActivityAt: now - 20 * HOUR }, now, settings)).toBe(trialEnd - 48 * HOUR);
    expect(nextThresholdAt(signals, trialEnd + 1, settings)).toBeNull();
    expect(nextThresholdAt({ ...signals, converted: true }, now, settings)).toBeNull();
  });
});

describe('parseIsoDuration', () => {
  it.each([
    ['PT5S', 5000],
    ['PT0.5S', 500],
    ['P3D', 3 * 86_400_000],
    ['P1DT12H', 36 * HOUR],
    ['PT1H30M', 90 * 60_000],
    ['P2W', 14 * 86_400_000],
  ])('%s = %d ms', (text, ms) => expect(parseIsoDuration(text)).toBe(ms));

  it.each(['', 'P', 'PT', '5s', 'P1M', 'P1Y', 'PT-5S', 'P1.5D'])('refuses %j', (text) => expect(parseIsoDuration(text)).toBeNull());
});

describe('aha rules', async () => {
  const { matchesRule, requiredCount, rulesFrom } = await import('../src/core/aha-rules.ts');
  it('a bare name matches that event only', () => {
    const [rule] = rulesFrom(['Report Created'], []);
    expect(matchesRule(rule!, 'Report Created', {})).toBe(true);
    expect(matchesRule(rule!, 'Report Viewed', {})).toBe(false);
    expect(matchesRule(rule!, null, {})).toBe(false);
    expect(requiredCount(rule!)).toBe(1);
  });

  it('a property rule needs the property (and its value when given), dotted paths included', () => {
    const rule = { event: 'Project Created', property: 'plan.tier', equals: 'pro' };
    expect(matchesRule(rule, 'Project Created', { plan: { tier: 'pro' } })).toBe(true);
    expect(matchesRule(rule, 'Project Created', { plan: { tier: 'free' } })).toBe(false);
    expect(matchesRule(rule, 'Project Created', {})).toBe(false);
    expect(matchesRule({ event: 'Invite Sent', property: 'to' }, 'Invite Sent', { to: 'a@b.c' })).toBe(true);
    expect(matchesRule({ event: 'Invite Sent', property: 'to' }, 'Invite Sent', { to: null })).toBe(false);
    expect(matchesRule({ event: 'Seats', property: 'n', equals: '3' }, 'Seats', { n: 3 })).toBe(true);
    expect(matchesRule({ event: 'X', property: 'constructor' }, 'X', {})).toBe(false);
  });

  it('a count of 0 or less means 1', () => {
    expect(requiredCount({ event: 'e', count: 3 })).toBe(3);
    expect(requiredCount({ event: 'e', count: 0 })).toBe(1);
  });
});
