/**
 * What written events do to trials, decided without I/O (as stripe.ts decides its intents):
 * the trials they start, and which trial workflows hear of them. Only an event that can
 * change a segment is worth a signal: an aha, a conversion, or activity while the workflow
 * believes the user is quiet. Whether a counted aha rule is met needs the stored events, so
 * the decision comes in two steps with that count in between.
 */
import { matchesRule, rulesFrom, type AhaRule } from '../../core/aha-rules.ts';
import { isFinalSegment, type SegmentKey } from '../../core/segments.ts';
import { accountsOfEvent } from '../../core/account-rules.ts';
import type { ActivityNotice } from '../../core/trial-lifecycle.messages.ts';
import type { TouchedTrial } from './event-writer.ts';
import { eventDate, type IngestEvent } from './segment-message.ts';

export const TRIAL_STARTED_EVENT = 'Trial Started';

/** Segments in which the workflow believes the user is inactive: any activity can change them. */
const QUIET_SEGMENTS: ReadonlySet<string> = new Set<SegmentKey>(['gone_quiet', 'needs_nudge']);

/** A trial an event starts: a person's (userId) or an account's (accountId). */
export interface TrialStart {
  userId?: string;
  accountId?: string;
  email: string | null;
  trialStart: Date;
  trialEnd: Date | null;
}

const hasTrialDates = (traits: Record<string, unknown>) => traits.trial_end != null || traits.trial_start != null;

/**
 * An identify with `trial_start`/`trial_end` traits starts its user's trial; a group call with
 * them starts its account's; a `Trial Started` track starts the trial of the account it names
 * (`context.groupId`), else its user's.
 */
export function trialStartOf(event: IngestEvent): TrialStart | null {
  if (!event.userId) return null;
  if (event.type === 'group' && event.groupId && event.accountTraits && hasTrialDates(event.accountTraits)) {
    const facts = event.accountTraits;
    return { accountId: event.groupId, email: null, trialStart: eventDate(facts.trial_start) ?? event.timestamp, trialEnd: eventDate(facts.trial_end) };
  }
  const startsTrial = (event.type === 'identify' && hasTrialDates(event.traits)) || (event.type === 'track' && event.event === TRIAL_STARTED_EVENT);
  if (!startsTrial) return null;
  const facts = event.type === 'identify' ? event.traits : event.properties;
  const dates = { trialStart: eventDate(facts.trial_start) ?? event.timestamp, trialEnd: eventDate(facts.trial_end) };
  if (event.type === 'track' && event.groupId) return { accountId: event.groupId, email: null, ...dates };
  const email = typeof event.traits.email === 'string' ? event.traits.email : typeof facts.email === 'string' ? facts.email : null;
  return { userId: event.userId, email, ...dates };
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
  /** The account it names, if any: then it counts for that account only. */
  groupId: string | null;
  name: string | null;
  type: string;
  properties: Record<string, unknown>;
  at: Date;
}

/** An event that may matter to an open trial: the aha rules it completes if counts allow. */
export interface Candidate {
  trial: TouchedTrial;
  /** Whose event it is (for an account's trial: the member). */
  userId: string;
  at: Date;
  conversion: boolean;
  ahaRules: AhaRule[];
}

/** The open trials an event counts for: its user's own, and the accounts it names or, naming none, its user's accounts. */
function trialsOfEvents(trials: TouchedTrial[], memberships: ReadonlyArray<{ userId: string; accountId: string }>) {
  const open = trials.filter((trial) => !isFinalSegment(trial.segment));
  const people = new Map(open.filter((trial) => trial.userId !== null).map((trial) => [trial.userId!, trial]));
  const accounts = new Map(open.filter((trial) => trial.accountId !== null).map((trial) => [trial.accountId!, trial]));
  const accountsOfUser = Map.groupBy(memberships, (membership) => membership.userId);
  return (event: AttributedEvent): TouchedTrial[] => {
    if (!event.userId) return [];
    const own = people.get(event.userId);
    const named = accountsOfEvent(
      event.groupId,
      (accountsOfUser.get(event.userId) ?? []).map((membership) => membership.accountId),
    ).flatMap((accountId) => accounts.get(accountId) ?? []);
    return own ? [own, ...named] : named;
  };
}

/** Events outside the allow-list are stored and counted, but not used for segments (nor is a deletion). */
function usedForSegments(event: AttributedEvent, settings: EffectSettings): boolean {
  if (event.type === 'delete') return false;
  return event.type === 'identify' || settings.eventAllowList === null || (event.name !== null && settings.eventAllowList.includes(event.name));
}

/** The aha rules an event matches (before any count). */
function ahaRulesMatched(settings: EffectSettings): (event: AttributedEvent) => AhaRule[] {
  const rules = rulesFrom(settings.ahaEvents, settings.ahaRules);
  return (event) => rules.filter((rule) => matchesRule(rule, event.name, event.properties));
}

/** Whose trial a write may have missed: a person, and the account their event names (none: all of theirs). */
export interface TrialSubjects {
  userId: string;
  groupId: string | null;
}

/**
 * Step zero: the subjects of aha events whose trial the write did not see. A trial started by a concurrent
 * request (identify and track sent together) is invisible to a write whose statement began before its row was
 * committed; if that write then commits after the new workflow's one look at stored events, neither sees the
 * other's aha. Looking for these subjects' trials again once the write has committed closes the gap: a trial
 * committed before that look is found and told; one committed after it started its workflow after the events
 * were stored, and its first look counts them. Only aha events matter here (the workflow's look is for an aha);
 * a person who has a trial of their own is looked up again only for an account their event names, or, for an
 * event naming none, when they are a member of an account the write saw no trial for.
 */
export function unseenTrialSubjects(
  events: AttributedEvent[],
  { trials, accountsWithoutTrial }: { trials: TouchedTrial[]; accountsWithoutTrial: ReadonlyArray<{ userId: string }> },
  settings: EffectSettings,
): TrialSubjects[] {
  const people = new Set(trials.flatMap((trial) => (trial.userId === null ? [] : [trial.userId])));
  const accounts = new Set(trials.flatMap((trial) => (trial.accountId === null ? [] : [trial.accountId])));
  const membersOfAccountsWithoutTrial = new Set(accountsWithoutTrial.map((membership) => membership.userId));
  const ahaRulesOf = ahaRulesMatched(settings);
  const subjects = new Map<string, TrialSubjects>();
  for (const event of events) {
    if (!event.userId) continue;
    // Seen first: on the hot path every event's trial was, and no rule is matched at all.
    const seen = people.has(event.userId) && (event.groupId === null ? !membersOfAccountsWithoutTrial.has(event.userId) : accounts.has(event.groupId));
    if (!seen && usedForSegments(event, settings) && ahaRulesOf(event).length > 0)
      subjects.set(`${event.userId}\u0000${event.groupId ?? ''}`, { userId: event.userId, groupId: event.groupId });
  }
  return [...subjects.values()];
}

/** Step one: the events that may change an open trial's segment (a person's or an account's). */
export function candidatesOf(
  events: AttributedEvent[],
  trials: TouchedTrial[],
  memberships: ReadonlyArray<{ userId: string; accountId: string }>,
  settings: EffectSettings,
): Candidate[] {
  if (trials.length === 0) return [];
  const trialsOf = trialsOfEvents(trials, memberships);
  const ahaRulesOf = ahaRulesMatched(settings);
  const candidates: Candidate[] = [];
  for (const event of events) {
    if (!usedForSegments(event, settings)) continue;
    for (const trial of trialsOf(event)) {
      // A member's aha is worth knowing after the account's (the team in every webhook shows who found value).
      const stillCounting = trial.ahaReachedAt === null || trial.accountId !== null;
      const ahaRules = stillCounting ? ahaRulesOf(event) : [];
      const conversion = event.name !== null && settings.conversionEvents.includes(event.name);
      if (ahaRules.length === 0 && !conversion && !QUIET_SEGMENTS.has(trial.segment ?? '')) continue;
      candidates.push({ trial, userId: event.userId!, at: event.at, conversion, ahaRules });
    }
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
