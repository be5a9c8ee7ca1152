/**
 * Segment Tracking API messages: validation and normalisation, pure. Each problem names
 * the field, so a client (or its developer) can fix the message.
 */
import { createHash } from 'node:crypto';
import { describeTextProblem, unstorableText } from '../../core/storable-text.ts';

export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
export const MAX_BATCH_MESSAGES = 2500;

/** One accepted event, as stored. */
export interface IngestEvent {
  messageId: string;
  type: MessageType | 'delete';
  event: string | null;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  /** The account the event names: a group call's groupId, or `context.groupId` on any message (Segment's B2B spec). */
  groupId: string | null;
  /** What the event says about that account: a group call's traits (a Usermaven company's name); null when nothing. */
  accountTraits: Record<string, unknown> | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown>;
  context: Record<string, unknown>;
  timestamp: Date;
  receivedAt: Date;
}

export type Checked = { ok: true; event: IngestEvent } | { ok: false; error: string };

/** How a route turns one raw message into an event (its type from the path, a batch's context, another wire format). */
export type MessageCheck = (message: unknown) => Checked;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function identifier(message: Json, field: string): string | null | Error {
  const value = message[field];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return new Error(`${field} must be a string`);
  if (value.length > 255) return new Error(`${field} must be at most 255 characters`);
  return value;
}

/** A group call's own groupId, else `context.groupId`; an id as userId is (a string, or a number as Segment's libraries allow). */
function groupIdOf(message: Json, type: string, batchContext: Json | undefined): string | null | Error {
  if (type === 'group') return identifier(message, 'groupId');
  const context = isObject(message.context) ? message.context : {};
  const value = identifier('groupId' in context ? context : (batchContext ?? {}), 'groupId');
  return value instanceof Error ? new Error(`context.${value.message}`) : value;
}

// PostgreSQL's timestamptz holds years up to 294276, JavaScript's Date up to 275760; events
// are dated in the Unix era, so anything outside 1970–9999 is a client bug, refused by name.
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10000, 0, 1);

/** A date-time an event can carry (ISO-8601 text, or epoch milliseconds), or null. */
export function eventDate(value: unknown): Date | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const date = new Date(value);
  const ms = date.getTime();
  return ms >= EARLIEST && ms < LATEST ? date : null;
}

function time(message: Json, field: string): Date | null | Error {
  const value = message[field];
  if (value === undefined || value === null) return null;
  const date = typeof value === 'string' ? eventDate(value) : null;
  return date ?? new Error(`${field} must be an ISO-8601 date-time between 1970 and 9999`);
}

function object(message: Json, field: string): Json | Error {
  const value = message[field];
  if (value === undefined || value === null) return {};
  return isObject(value) ? value : new Error(`${field} must be an object`);
}

export const MAX_DEPTH = 32;

/** What PostgreSQL would refuse (with a 500, not our 400), keys included, and very deep nesting: named by its field. */
export function storageProblem(value: unknown): string | null {
  const problem = unstorableText(value, MAX_DEPTH);
  return problem && describeTextProblem(problem, 'the message');
}

/** Without a messageId, the same content is the same message (Segment delivers at least once). */
function contentHash(message: Json): string {
  return `hash:${createHash('sha256').update(JSON.stringify(message)).digest('base64url')}`;
}

/**
 * Checks one message. `type` comes from the route for /v1/<type> calls, from the message for
 * a batch. `sentAt` corrects client clock skew: timestamp = receivedAt − (sentAt − originalTimestamp).
 */
export function checkMessage(raw: unknown, receivedAt: Date, routeType?: MessageType | 'delete', batchContext?: Json): Checked {
  if (!isObject(raw)) return { ok: false, error: 'a message must be a JSON object' };
  const problem = storageProblem(raw);
  if (problem) return { ok: false, error: problem };
  const type = routeType ?? raw.type;
  if (typeof type !== 'string' || !([...MESSAGE_TYPES, 'delete'] as string[]).includes(type)) {
    return { ok: false, error: `type must be one of ${MESSAGE_TYPES.join(', ')}; got ${JSON.stringify(raw.type ?? null)}` };
  }
  const fail = (error: string): Checked => ({ ok: false, error });

  const userId = identifier(raw, 'userId');
  const anonymousId = identifier(raw, 'anonymousId');
  const previousId = identifier(raw, 'previousId');
  for (const value of [userId, anonymousId, previousId]) if (value instanceof Error) return fail(value.message);
  if (userId === null && anonymousId === null) return fail('userId or anonymousId is required');
  if (type === 'alias' && previousId === null) return fail('previousId is required for alias');
  const groupId = groupIdOf(raw, type, batchContext);
  if (groupId instanceof Error) return fail(groupId.message);
  if (type === 'group' && groupId === null) return fail('groupId is required for group');

  let event: string | null = null;
  if (type === 'track') {
    if (typeof raw.event !== 'string' || raw.event.trim() === '') return fail('event is required for track and must be a non-empty string');
    if (raw.event.length > 200) return fail('event must be at most 200 characters');
    event = raw.event;
  } else if ((type === 'page' || type === 'screen') && raw.name != null) {
    if (typeof raw.name !== 'string') return fail('name must be a string');
    event = raw.name.slice(0, 200);
  }

  const messageId = raw.messageId;
  if (messageId !== undefined && messageId !== null && (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 100)) {
    return fail('messageId must be a string of 1 to 100 characters');
  }

  const properties = object(raw, 'properties');
  const traits = object(raw, 'traits');
  const context = object(raw, 'context');
  for (const value of [properties, traits, context]) if (value instanceof Error) return fail(value.message);

  const times = (['timestamp', 'sentAt', 'originalTimestamp'] as const).map((field) => time(raw, field));
  const bad = times.find((value) => value instanceof Error);
  if (bad) return fail(bad.message);
  const [timestamp, sentAt, originalTimestamp] = times as Array<Date | null>;
  const original = originalTimestamp ?? timestamp;
  const corrected = sentAt && original ? eventDate(receivedAt.getTime() - (sentAt.getTime() - original.getTime())) : (timestamp ?? receivedAt);
  if (!corrected) return fail('sentAt and originalTimestamp correct the timestamp to outside 1970–9999');

  return {
    ok: true,
    event: {
      messageId: typeof messageId === 'string' ? messageId : contentHash({ ...raw, type }),
      type: type as MessageType | 'delete',
      event,
      userId: userId as string | null,
      anonymousId: anonymousId as string | null,
      previousId: previousId as string | null,
      groupId,
      // A group call's own traits describe the account (RudderStack's context.traits describe the user).
      accountTraits: type === 'group' ? (traits as Json) : null,
      properties: properties as Json,
      // RudderStack's SDKs send a user's traits in context.traits (the Segment spec allows both): read both, the top level winning.
      traits: { ...(isObject((context as Json).traits) ? ((context as Json).traits as Json) : {}), ...(traits as Json) },
      context: batchContext ? { ...batchContext, ...(context as Json) } : (context as Json),
      timestamp: corrected,
      receivedAt,
    },
  };
}
