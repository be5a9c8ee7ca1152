/**
 * What written events do to trials, decided without I/O (as stripe.ts decides its intents):
 * the trials they start, and which trial workflows hear of them. Only an event that can
 * change a segment is worth a signal: an aha, a conversion, or activity while the workflow
 * believes the user is quiet. Whether a counted aha rule is met needs the stored events, so
 * the decision comes in two steps with that count in between.
 */
import { matchesRule, rulesFrom, type AhaRule } from '../../core/aha-rules.ts';
import { isFinalSegment, type SegmentKey } from '../../core/segments.ts';
import type { ActivityNotice } from '../../core/trial-lifecycle.messages.ts';
import type { TouchedTrial } from './event-writer.ts';
import { eventDate, type IngestEvent } from './segment-message.ts';

export const TRIAL_STARTED_EVENT = 'Trial Started';

/** Segments in which the workflow believes the user is inactive: any activity can change them. */
const QUIET_SEGMENTS: ReadonlySet<string> = new Set<SegmentKey>(['gone_quiet', 'needs_nudge']);

export interface TrialStart {
  userId: string;
  email: string | null;
  trialStart: Date;
  trialEnd: Date | null;
}

/** An identify with `trial_start`/`trial_end` traits, or a `Trial Started` track, starts its user's trial. */
export function trialStartOf(event: IngestEvent): TrialStart | null {
  if (!event.userId) return null;
  const startsTrial =
    (event.type === 'identify' && (event.traits.trial_end != null || event.traits.trial_start != null)) ||
    (event.type === 'track' && event.event === TRIAL_STARTED_EVENT);
  if (!startsTrial) return null;
  const facts = event.type === 'identify' ? event.traits : event.properties;
  const email = typeof event.traits.email === 'string' ? event.traits.email : typeof facts.email === 'string' ? facts.email : null;
  return { userId: event.userId, email, trialStart: eventDate(facts.trial_start) ?? event.timestamp, trialEnd: eventDate(facts.trial_end) };
}

/** The settings that decide what an event means. */
export interface EffectSettings {
  ahaEvents: string[];
  ahaRules: AhaRule[];
  conversionEvents: string[];
  eventAllowList: string[] | null;
}

/** An event now attributed to a user: written by this request, or stitched to them by it. */
export interface AttributedEvent {
  userId: string | null;
  name: string | null;
  type: string;
  properties: Record<string, unknown>;
  at: Date;
}

/** An event that may matter to an open trial: the aha rules it completes if counts allow. */
export interface Candidate {
  trial: TouchedTrial;
  at: Date;
  conversion: boolean;
  ahaRules: AhaRule[];
}

/** Step one: the events that may change an open trial's segment. */
export function candidatesOf(events: AttributedEvent[], trials: TouchedTrial[], settings: EffectSettings): Candidate[] {
  const open = new Map(trials.filter((trial) => !isFinalSegment(trial.segment)).map((trial) => [trial.userId, trial]));
  if (open.size === 0) return [];
  // Events outside the allow-list are stored and counted, but not used for segments.
  const allowed = (name: string | null, type: string) =>
    type === 'identify' || settings.eventAllowList === null || (name !== null && settings.eventAllowList.includes(name));
  const rules = rulesFrom(settings.ahaEvents, settings.ahaRules);
  const candidates: Candidate[] = [];
  for (const event of events) {
    const trial = event.userId ? open.get(event.userId) : undefined;
    if (!trial || event.type === 'delete' || !allowed(event.name, event.type)) continue;
    const ahaRules = trial.ahaReachedAt === null ? rules.filter((rule) => matchesRule(rule, event.name, event.properties)) : [];
    const conversion = event.name !== null && settings.conversionEvents.includes(event.name);
    if (ahaRules.length === 0 && !conversion && !QUIET_SEGMENTS.has(trial.segment ?? '')) continue;
    candidates.push({ trial, at: event.at, conversion, ahaRules });
  }
  return candidates;
}

/** Step two, once each candidate's aha is known: one notice per trial workflow, the latest time, aha and conversion merged. */
export function noticesOf(decided: Array<Candidate & { aha: boolean }>): Map<string, ActivityNotice> {
  const notices = new Map<string, ActivityNotice>();
  for (const { trial, at, conversion, aha } of decided) {
    if (!aha && !conversion && !QUIET_SEGMENTS.has(trial.segment ?? '')) continue;
    const notice = notices.get(trial.workflowId) ?? { at: at.toISOString() };
    if (at.toISOString() > notice.at) notice.at = at.toISOString();
    notice.aha ||= aha;
    notice.conversion ||= conversion;
    notices.set(trial.workflowId, notice);
  }
  return notices;
}
