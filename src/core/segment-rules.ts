/**
 * The segment decision table: which segment a trial belongs in, from three signals
 * (has the user reached an aha event, were they active recently, how much trial time is
 * left) plus conversion. Pure and deterministic: the lifecycle workflow calls it.
 *
 * | trial phase \ (aha, active) | no aha, active | no aha, quiet  | aha, active          | aha, quiet    |
 * |-----------------------------|----------------|----------------|----------------------|---------------|
 * | early                       | exploring      | gone_quiet     | found_value          | needs_nudge   |
 * | ending soon                 | slipping_away  | slipping_away  | on_track_to_convert  | needs_nudge   |
 * | last chance                 | last_chance    | last_chance    | on_track_to_convert  | last_chance   |
 * | ended                       | expired        | expired        | expired              | expired       |
 * converted (a conversion event, Stripe trialing → active, or the convert update) wins over every row.
 */
import type { SegmentKey } from './segments.ts';

export type TrialPhase = 'early' | 'ending_soon' | 'last_chance' | 'ended';

export interface SegmentSettings {
  /** A user counts as active for this long after their last activity. */
  inactivityAfterMs: number;
  /** The "ending soon" phase starts this long before the trial's end. */
  endingSoonBeforeMs: number;
  /** The "last chance" phase starts this long before the trial's end. */
  lastChanceBeforeMs: number;
  /** The saved settings' revision these came from (absent before revisions, and for defaults). */
  revision?: string | null;
}

export const DEFAULT_SEGMENT_SETTINGS: SegmentSettings = {
  inactivityAfterMs: 3 * 86_400_000,
  endingSoonBeforeMs: 3 * 86_400_000,
  lastChanceBeforeMs: 86_400_000,
};

export interface TrialSignals {
  converted: boolean;
  ahaReached: boolean;
  /** Epoch ms of the latest activity; the trial start counts as activity. */
  lastActivityAt: number;
  trialEnd: number;
}

export function phaseAt(now: number, trialEnd: number, settings: SegmentSettings): TrialPhase {
  const left = trialEnd - now;
  if (left <= 0) return 'ended';
  if (left <= settings.lastChanceBeforeMs) return 'last_chance';
  if (left <= settings.endingSoonBeforeMs) return 'ending_soon';
  return 'early';
}

export function isActiveAt(now: number, lastActivityAt: number, settings: SegmentSettings): boolean {
  return now - lastActivityAt < settings.inactivityAfterMs;
}

type Row = readonly [SegmentKey, SegmentKey, SegmentKey, SegmentKey];
const TABLE: Record<Exclude<TrialPhase, 'ended'>, Row> = {
  //           no aha+active    no aha+quiet     aha+active              aha+quiet
  early: ['exploring', 'gone_quiet', 'found_value', 'needs_nudge'],
  ending_soon: ['slipping_away', 'slipping_away', 'on_track_to_convert', 'needs_nudge'],
  last_chance: ['last_chance', 'last_chance', 'on_track_to_convert', 'last_chance'],
};

export function decideSegment(signals: TrialSignals, now: number, settings: SegmentSettings): SegmentKey {
  if (signals.converted) return 'converted';
  const phase = phaseAt(now, signals.trialEnd, settings);
  if (phase === 'ended') return 'expired';
  const active = isActiveAt(now, signals.lastActivityAt, settings);
  const [plainActive, plainQuiet, ahaActive, ahaQuiet] = TABLE[phase];
  if (signals.ahaReached) return active ? ahaActive : ahaQuiet;
  return active ? plainActive : plainQuiet;
}

/** What woke the workflow up: it picks the reason code of a transition. */
export type Trigger = 'trial_started' | 'aha_event' | 'activity' | 'timer' | 'settings_changed' | 'trial_extended' | 'converted';

/**
 * The reason code of a transition into `next`. Time-driven moves are named by the signal
 * that changed (inactivity, the trial's phase); event-driven ones by the event.
 */
export function reasonFor(trigger: Trigger, next: SegmentKey, phase: TrialPhase, active: boolean): string {
  if (next === 'converted') return 'converted';
  if (next === 'expired') return 'trial_expired';
  switch (trigger) {
    case 'trial_started':
    case 'settings_changed':
    case 'trial_extended':
      return trigger;
    case 'aha_event':
      return 'aha_event_received';
    case 'activity':
      return 'activity_resumed';
    default:
      if (!active && (next === 'gone_quiet' || next === 'needs_nudge')) return 'inactivity';
      if (phase === 'last_chance') return 'last_day';
      return 'trial_ending_soon';
  }
}

/**
 * The next moment the decision can change with no new event: the activity window closing
 * or the trial entering its next phase. Null when only an event can change it.
 */
export function nextThresholdAt(signals: TrialSignals, now: number, settings: SegmentSettings): number | null {
  if (signals.converted) return null;
  const candidates = [
    signals.lastActivityAt + settings.inactivityAfterMs,
    signals.trialEnd - settings.endingSoonBeforeMs,
    signals.trialEnd - settings.lastChanceBeforeMs,
    signals.trialEnd,
  ].filter((at) => at > now);
  return candidates.length ? Math.min(...candidates) : null;
}
