/**
 * Two more ways in, on the same durable ingest path:
 * - `POST /hooks/segment/{writeKey}`: a Segment *Webhooks destination* (one message or an
 *   array), checked against the app's shared secret as Segment signs: X-Signature is the
 *   hex HMAC-SHA1 of JSON.stringify(body), or of its first message for a batch.
 *   A `delete` call erases the user's events and identities and ends their trial.
 * - `POST /api/v1/s2s/event?token={writeKey}.{serverToken}` (or Bearer): Usermaven-style
 *   server events `{api_key, event_type, user: {id | anonymous_id, email}, event_attributes, event_id}`.
 */
import { createHmac } from 'node:crypto';
import { describeTextProblem, unstorableText } from '../../core/storable-text.ts';
import { sameHexSignature } from '../../infra/constant-time.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answeringHttpErrors, decodePathSegment, HttpError, parseJson, readBody } from '../../infra/http-body.ts';
import type { RouteHandler } from '../../infra/http-body.ts';
import type { SecretBox } from '../../secret-box.ts';
import { Integrations } from '../apps/integrations.entity.ts';
import type { IngestService } from './ingest.service.ts';
import { acceptMessages } from './segment-http.routes.ts';
import { checkMessage, MAX_BATCH_BYTES, type Checked, type MessageCheck } from './segment-message.ts';

export const SEGMENT_HOOK_PREFIX = '/hooks/segment/';
export const S2S_PATH = '/api/v1/s2s/event';

/** Segment's rule, as its docs show it; the raw body is accepted too (it is what Segment hashes). */
export function segmentSignatureValid(signature: string | undefined, raw: string, body: unknown, secret: string): boolean {
  if (!signature) return false;
  const digest = (text: string) => createHmac('sha1', secret).update(text, 'utf8').digest();
  const signed = Array.isArray(body) && body.length > 0 ? JSON.stringify(body[0]) : raw;
  return sameHexSignature(signature, digest(signed)) || sameHexSignature(signature, digest(raw));
}

/** The docs' alias example spells the ids as "Previous ID" and "User ID". */
function normalise(message: unknown): unknown {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return message;
  const { 'Previous ID': previous, 'User ID': user, ...rest } = message as Record<string, unknown>;
  return {
    ...rest,
    ...(previous !== undefined && rest.previousId === undefined ? { previousId: previous } : {}),
    ...(user !== undefined && rest.userId === undefined ? { userId: user } : {}),
  };
}

async function segmentHook(ingest: IngestService, secrets: SecretBox, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' });
  const writeKey = decodePathSegment((req.url ?? '').split('?')[0]!.slice(SEGMENT_HOOK_PREFIX.length), 'write key');
  const appId = await ingest.appForWriteKey(writeKey);
  if (!appId) throw new HttpError(401, 'unknown write key');
  const raw = await readBody(req, MAX_BATCH_BYTES);
  const body = parseJson(raw);
  const integrations = await ingest.orm.em.fork().findOne(Integrations, { appId });
  if (integrations?.segmentSharedSecret) {
    const signature = req.headers['x-signature'] as string | undefined;
    if (!segmentSignatureValid(signature, raw.toString('utf8'), body, secrets.open(integrations.segmentSharedSecret))) {
      throw new HttpError(401, signature ? 'X-Signature does not match the shared secret' : 'missing X-Signature (this app has a Segment shared secret)');
    }
  }
  const messages = (Array.isArray(body) ? body : [body]).map(normalise);
  const receivedAt = new Date();
  const deletions = messages.filter((message) => (message as { type?: unknown })?.type === 'delete');
  for (const message of deletions) {
    const checked = checkMessage(message, receivedAt);
    if (checked.ok && checked.event.userId) await ingest.eraseUser(appId, checked.event.userId);
  }
  const tracked = messages.filter((message) => (message as { type?: unknown })?.type !== 'delete');
  await acceptMessages(ingest, res, appId, tracked, (message) => checkMessage(message, receivedAt), {
    route: `${SEGMENT_HOOK_PREFIX}:writeKey`,
    single: !Array.isArray(body) && deletions.length === 0,
  });
}

/** `writeKey.serverToken` from ?token= or `Authorization: Bearer`. */
function s2sToken(req: IncomingMessage): string | null {
  const query = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  if (query) return query;
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
}

export function s2sToSegment(raw: unknown, writeKey: string): unknown | { error: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { error: 'an event must be a JSON object' };
  const event = raw as Record<string, unknown>;
  if (typeof event.api_key !== 'string' || event.api_key === '') return { error: 'api_key is required' };
  if (event.api_key !== writeKey) return { error: "api_key is not this token's API key" };
  if (typeof event.event_type !== 'string' || event.event_type === '') return { error: 'event_type is required' };
  const user = event.user as Record<string, unknown> | undefined;
  if (typeof user !== 'object' || user === null || (user.id == null && user.anonymous_id == null)) return { error: 'user.id or user.anonymous_id is required' };
  if (event.event_attributes != null && (typeof event.event_attributes !== 'object' || Array.isArray(event.event_attributes)))
    return { error: 'event_attributes must be an object' };
  const company = event.company as Record<string, unknown> | null | undefined;
  if (company != null && (typeof company !== 'object' || Array.isArray(company) || company.id == null || company.id === ''))
    return { error: 'company must be an object with an id' };
  return {
    type: 'track',
    event: event.event_type,
    userId: user.id ?? undefined,
    anonymousId: user.anonymous_id ?? undefined,
    // Usermaven's Python SDK always sends event_id, empty when there is none: no id (content-hash dedup).
    messageId: event.event_id === '' ? undefined : (event.event_id ?? undefined),
    properties: event.event_attributes ?? {},
    traits: typeof user.email === 'string' ? { email: user.email } : {},
    timestamp: event.timestamp ?? undefined,
    // Usermaven's company is the account the event counts for (Segment's context.groupId).
    ...(company ? { context: { groupId: company.id } } : {}),
  };
}

/** A Usermaven company's name is an account trait, as a Segment group call's traits are. */
function withCompanyName(checked: Checked, raw: unknown): Checked {
  const name = (raw as { company?: { name?: unknown } }).company?.name;
  if (!checked.ok || typeof name !== 'string' || name === '') return checked;
  const problem = unstorableText(name);
  if (problem) return { ok: false, error: describeTextProblem({ ...problem, path: 'company.name' }) };
  if (name.length > 255) return { ok: false, error: 'company.name must be at most 255 characters' };
  return { ok: true, event: { ...checked.event, accountTraits: { name } } };
}

async function s2s(ingest: IngestService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' });
  const token = s2sToken(req);
  const [writeKey, serverToken] = token?.split('.') ?? [];
  const appId = writeKey && serverToken ? await ingest.appForServerToken(writeKey, serverToken) : null;
  if (!appId) throw new HttpError(401, 'unknown token: use token=API_KEY.SERVER_TOKEN');
  const body = parseJson(await readBody(req, MAX_BATCH_BYTES));
  const receivedAt = new Date();
  const check: MessageCheck = (message) => {
    const converted = s2sToSegment(message, writeKey!);
    return converted && typeof converted === 'object' && 'error' in converted
      ? { ok: false as const, error: String(converted.error) }
      : withCompanyName(checkMessage(converted, receivedAt), message);
  };
  await acceptMessages(ingest, res, appId, Array.isArray(body) ? body : [body], check, { route: S2S_PATH, single: !Array.isArray(body) });
}

export function hookRoutes(ingest: IngestService, secrets: SecretBox): Record<string, RouteHandler> {
  const serverToServer = answeringHttpErrors((req, res) => s2s(ingest, req, res));
  return {
    [`${SEGMENT_HOOK_PREFIX}*`]: answeringHttpErrors((req, res) => segmentHook(ingest, secrets, req, res)),
    [S2S_PATH]: serverToServer,
    // Usermaven's Python SDK adds a trailing slash.
    [`${S2S_PATH}/`]: serverToServer,
  };
}
