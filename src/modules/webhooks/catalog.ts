/**
 * What Trialcast sends: the event types, which ones a transition produces, and the exact body
 * of each (the contract's shape, plus the per-trial sequence number). Pure.
 */
export const OPERATIONAL_EVENT_TYPES = ['endpoint.disabled', 'delivery.failing', 'delivery.exhausted'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

export const EVENT_TYPES = [
  'trial.segment_changed',
  'trial.segment_entered',
  'trial.segment_left',
  'trial.started',
  'trial.converted',
  'trial.expired',
  'webhook.test',
  ...OPERATIONAL_EVENT_TYPES,
];

/** The event types that tell of a trial's moves (what a Zap or a preview may ask for). */
export const TRIAL_EVENT_TYPES = EVENT_TYPES.filter((type) => type.startsWith('trial.'));

export function isOperational(eventType: string): boolean {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(eventType);
}

/** The change a delivery tells about, as recorded. */
export interface ChangeFacts {
  id: string;
  appId: string;
  trialId: string;
  sequence: number;
  oldSegment: string | null;
  newSegment: string;
  reason: string;
  /** ISO-8601 */
  occurredAt: string;
}

/** Every event type one transition produces (endpoints pick theirs with eventTypes). */
export function eventTypesFor(change: Pick<ChangeFacts, 'oldSegment' | 'newSegment'>): string[] {
  const types = ['trial.segment_changed', change.oldSegment === null ? 'trial.started' : 'trial.segment_left', 'trial.segment_entered'];
  if (change.newSegment === 'converted') types.push('trial.converted');
  if (change.newSegment === 'expired') types.push('trial.expired');
  return types;
}

export function wantsEvent(endpoint: { eventTypes: string[] }, eventType: string): boolean {
  return endpoint.eventTypes.includes('*') || endpoint.eventTypes.includes(eventType);
}

/** Whether an endpoint takes a move into this segment (its segment filter, if it has one). */
export const wantsSegment = (endpoint: { segments?: string[] | null }, segment: string): boolean => !endpoint.segments || endpoint.segments.includes(segment);

/** The order one change's deliveries go out in, for each endpoint. */
const SENDING_ORDER = ['trial.segment_changed', 'trial.started', 'trial.segment_left', 'trial.segment_entered', 'trial.converted', 'trial.expired'];

export const sendingRank = (eventType: string) => SENDING_ORDER.indexOf(eventType);

/** One member of an account as its webhooks show them (the most recently active first). */
export interface MemberFacts {
  user_id: string;
  email: string | null;
  /** ISO-8601 */
  last_active_at: string;
  aha: boolean;
}

/** What an account trial's webhooks say about the team. */
export interface AccountFacts {
  accountId: string;
  name: string | null;
  memberCount: number;
  /** At most MAX_MEMBERS_IN_WEBHOOK. */
  members: MemberFacts[];
}

export const MAX_MEMBERS_IN_WEBHOOK = 25;

export interface TrialFacts {
  /** A person's trial; null for an account's. */
  userId: string | null;
  email?: string | null;
  stripeCustomerId?: string | null;
  trialStart: Date;
  trialEnd: Date;
  /** An account's trial: the account and its team. */
  account?: AccountFacts | null;
}

/** The `trial` object of a body: a person's as it always was; an account's with the team, its own user_id and email null. */
function trialObject(trial: TrialFacts) {
  const common = {
    user_id: trial.account ? null : trial.userId,
    email: trial.account ? null : (trial.email ?? null),
    stripe_customer_id: trial.stripeCustomerId ?? null,
    trial_start: trial.trialStart.toISOString(),
    trial_end: trial.trialEnd.toISOString(),
  };
  if (!trial.account) return common;
  const { accountId, name, memberCount, members } = trial.account;
  return { ...common, account_id: accountId, account_name: name, member_count: memberCount, members };
}

/** The body of one transition's event. */
export function changeEventBody(eventType: string, change: ChangeFacts, trial: TrialFacts, eventId: string): string {
  return JSON.stringify({
    id: eventId,
    event: eventType,
    app_id: change.appId,
    trial: trialObject(trial),
    old_segment: change.oldSegment,
    new_segment: change.newSegment,
    ...(eventType === 'trial.segment_left' ? { segment: change.oldSegment } : {}),
    ...(eventType === 'trial.segment_entered' ? { segment: change.newSegment } : {}),
    reason: change.reason,
    sequence: change.sequence,
    occurred_at: change.occurredAt,
  });
}

/** The event id a delivery's body carries: its webhook-id's random part. */
export const eventIdOf = (deliveryId: string) => `evt_${deliveryId.slice(4)}`;

/** The built-in tester's `webhook.test`. */
export function testEventBody(deliveryId: string, endpoint: { id: string; appId: string }, at: Date): string {
  return JSON.stringify({ id: eventIdOf(deliveryId), event: 'webhook.test', app_id: endpoint.appId, endpoint_id: endpoint.id, occurred_at: at.toISOString() });
}

export interface OperationalEvent {
  id: string;
  type: OperationalEventType;
  appId: string;
  endpointId: string;
  deliveryId: string | null;
  message: string;
  occurredAt: string;
}

/** An operational event's body, with the facts of what caused it. */
export function operationalEventBody(event: OperationalEvent, facts: Record<string, unknown>): string {
  return JSON.stringify({
    id: event.id,
    event: event.type,
    app_id: event.appId,
    endpoint_id: event.endpointId,
    ...(event.deliveryId ? { delivery_id: event.deliveryId } : {}),
    message: event.message,
    ...facts,
    occurred_at: event.occurredAt,
  });
}

/** A move as it would be told, for previews and samples before any happened (the contract's own example). */
export function sampleChangeBody(appId: string, eventType: string): string {
  const change: ChangeFacts = {
    id: 'sgc_sample',
    appId,
    trialId: 'trl_sample',
    sequence: 2,
    oldSegment: 'exploring',
    newSegment: 'found_value',
    reason: 'aha_event_received',
    occurredAt: '2025-02-16T14:32:00.000Z',
  };
  const trial: TrialFacts = {
    userId: 'usr_8a3f4b',
    email: 'alex@example.com',
    stripeCustomerId: 'cus_Abc123',
    trialStart: new Date('2025-02-14T00:00:00Z'),
    trialEnd: new Date('2025-02-28T00:00:00Z'),
  };
  return changeEventBody(eventType, change, trial, 'evt_sample');
}
