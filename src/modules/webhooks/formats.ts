/**
 * Destinations: what one delivery becomes on the wire for its endpoint's format, and what the
 * receiver's answer means. Pure: a delivery keeps the standard body (so redelivery, outage
 * replay and the attempt log work for every format alike) and is rendered at each attempt.
 * - `standard`: the body as stored, signed per Standard Webhooks (sending.ts adds the signature);
 * - `slack`: a Slack incoming-webhook message, `text` beside Block Kit `blocks`;
 * - `segment`: an `identify` (traits trial_segment, trial_segment_reason, trial_end) and a
 *   `track` "Trial Segment Changed", one `/v1/batch` with the destination's write key, their
 *   messageIds derived from the webhook-id so a retried delivery is counted once by the receiver;
 * - `hubspot`: the contact's (an account's: the company's) properties trialcast_segment,
 *   trialcast_segment_reason and trialcast_trial_end, one PATCH with a private app's token;
 * - `customerio`: the person's attributes (PUT) then an event `trial_segment_changed` (POST,
 *   its id from the webhook-id, so Customer.io counts a retried one once), Basic site id : API key;
 * - `template`: any HTTP API, the body a JSONata expression makes of the standard payload (template.ts);
 * - `zapier`: a Zapier REST hook's target, the standard payload flattened (Zapier's fields are top-level keys).
 */
import { classify, type Outcome } from '../../core/retry-policy.ts';
import type { AttemptResult, HttpMethod } from './http-attempt.ts';
import { evaluateTemplate } from './template.ts';

export const ENDPOINT_FORMATS = ['standard', 'slack', 'segment', 'hubspot', 'customerio', 'template', 'zapier'] as const;
export type EndpointFormat = (typeof ENDPOINT_FORMATS)[number];

/** The credentials a format needs (kept sealed; never shown again once saved). */
export interface DestinationCredentials {
  /** segment: the destination source's write key. */
  writeKey?: string;
  /** hubspot: a private app's access token. */
  accessToken?: string;
  /** customerio: Track API site id and API key. */
  siteId?: string;
  apiKey?: string;
  /** template: the JSONata expression over the standard payload. */
  expression?: string;
}

/**
 * Formats whose endpoints are deleted, not kept disabled, once disabled: a Zapier hook disabled
 * (its Zap turned off: 410) is an unsubscribe, and must not keep a place among the app's endpoints.
 */
export const DELETED_WHEN_DISABLED: ReadonlySet<EndpointFormat> = new Set(['zapier']);

/** What each format needs saved before it can send. */
export const CREDENTIALS_NEEDED: Record<EndpointFormat, Array<keyof DestinationCredentials>> = {
  standard: [],
  slack: [],
  segment: ['writeKey'],
  hubspot: ['accessToken'],
  customerio: ['siteId', 'apiKey'],
  template: ['expression'],
  zapier: [],
};

/** Where a destination's API is when the endpoint's URL is left out (Customer.io's by region). */
export function defaultUrl(format: EndpointFormat, region: 'us' | 'eu' | null): string | null {
  if (format === 'hubspot') return 'https://api.hubapi.com';
  if (format === 'customerio') return region === 'eu' ? 'https://track-eu.customer.io' : 'https://track.customer.io';
  return null;
}

export interface RenderedCall {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface RenderedRequest {
  /** One or more calls, made in order; the first answer that is not 2xx is the attempt's. */
  calls: RenderedCall[];
  /** Standard Webhooks signature headers are added (the standard format only). */
  signed: boolean;
}

interface StandardPayload {
  event?: string;
  app_id?: string;
  trial?: { user_id?: string | null; account_id?: string; account_name?: string | null; email?: string | null; trial_end?: string } | null;
  old_segment?: string | null;
  new_segment?: string;
  segment?: string;
  reason?: string;
  occurred_at?: string;
}

const words = (key: string | null | undefined) => (key ? key.replaceAll('_', ' ') : 'no segment');

/** Who a payload is about, as a person would say it. */
function subjectOf(payload: StandardPayload): string {
  const trial = payload.trial;
  if (!trial) return 'Trialcast';
  if (trial.account_id) return `${trial.account_name ?? trial.account_id} (account)`;
  return trial.email ? `${trial.user_id} (${trial.email})` : (trial.user_id ?? 'a trial');
}

/** A link to the trial's page in the console, when the console's public address is known. */
function consoleLink(payload: StandardPayload, publicUrl: string | null): string | null {
  const trial = payload.trial;
  if (!publicUrl || !trial || !payload.app_id) return null;
  const path = trial.account_id ? `accounts/${encodeURIComponent(trial.account_id)}` : `trials/${encodeURIComponent(trial.user_id ?? '')}`;
  return `${publicUrl.replace(/\/+$/, '')}/#/apps/${payload.app_id}/${path}`;
}

function slackMessage(payload: StandardPayload, publicUrl: string | null): object {
  if (!payload.new_segment) {
    const text = `Trialcast: ${payload.event ?? 'a test'} from ${payload.app_id ?? 'an app'}`;
    return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  }
  const who = subjectOf(payload);
  const move = payload.old_segment ? `${words(payload.old_segment)} → *${words(payload.new_segment)}*` : `started in *${words(payload.new_segment)}*`;
  const text = `${who}: ${payload.old_segment ? `${words(payload.old_segment)} → ${words(payload.new_segment)}` : `started in ${words(payload.new_segment)}`} (${words(payload.reason)})`;
  const link = consoleLink(payload, publicUrl);
  const fields = [
    { type: 'mrkdwn', text: `*Reason*\n${words(payload.reason)}` },
    ...(payload.trial?.trial_end ? [{ type: 'mrkdwn', text: `*Trial ends*\n${payload.trial.trial_end}` }] : []),
  ];
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${who}*: ${move}` } },
      { type: 'section', fields },
      ...(link ? [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Trialcast' }, url: link }] }] : []),
    ],
  };
}

function segmentBatch(payload: StandardPayload, deliveryId: string): object {
  // A payload about no trial (a test, an operational event) is one track of Trialcast's own.
  if (!payload.trial) {
    return { batch: [{ type: 'track', messageId: `${deliveryId}-track`, anonymousId: 'trialcast', event: `Trialcast ${payload.event}`, properties: payload }] };
  }
  const trial = payload.trial;
  // An account's move is told as the account's group traits would be, under the account's id.
  const subject = trial.account_id ? { userId: `account:${trial.account_id}`, groupId: trial.account_id } : { userId: trial.user_id ?? undefined };
  const timestamp = payload.occurred_at;
  const traits = { trial_segment: payload.new_segment ?? null, trial_segment_reason: payload.reason ?? null, trial_end: trial.trial_end ?? null };
  return {
    batch: [
      { type: 'identify', messageId: `${deliveryId}-identify`, ...subject, traits, timestamp },
      {
        type: 'track',
        messageId: `${deliveryId}-track`,
        ...subject,
        event: 'Trial Segment Changed',
        properties: { old_segment: payload.old_segment ?? null, new_segment: payload.new_segment ?? null, reason: payload.reason ?? null },
        timestamp,
      },
    ],
  };
}

const base = (url: string) => url.replace(/\/+$/, '');
const JSON_TYPE = { 'content-type': 'application/json' };

/** HubSpot: the trial's CRM record, a contact by email or a company by its trialcast_account_id. */
function hubspotCall(payload: StandardPayload, url: string, token: string): RenderedCall {
  const trial = payload.trial ?? {};
  const record = trial.account_id
    ? `companies/${encodeURIComponent(trial.account_id)}?idProperty=trialcast_account_id`
    : `contacts/${encodeURIComponent(trial.email ?? '')}?idProperty=email`;
  const properties = {
    trialcast_segment: payload.new_segment ?? null,
    trialcast_segment_reason: payload.reason ?? null,
    trialcast_trial_end: trial.trial_end ?? null,
  };
  return {
    method: 'PATCH',
    url: `${base(url)}/crm/v3/objects/${record}`,
    headers: { ...JSON_TYPE, authorization: `Bearer ${token}` },
    body: JSON.stringify({ properties }),
  };
}

/** Customer.io's Track API: attributes on the person (an account: `account:<id>`), then the move as an event. */
function customerioCalls(payload: StandardPayload, url: string, credentials: DestinationCredentials, deliveryId: string): RenderedCall[] {
  const trial = payload.trial ?? {};
  const id = trial.account_id ? `account:${trial.account_id}` : (trial.user_id ?? 'trialcast');
  const customer = `${base(url)}/api/v1/customers/${encodeURIComponent(id)}`;
  const headers = { ...JSON_TYPE, authorization: `Basic ${Buffer.from(`${credentials.siteId ?? ''}:${credentials.apiKey ?? ''}`).toString('base64')}` };
  const attributes = {
    ...(trial.email ? { email: trial.email } : {}),
    trial_segment: payload.new_segment ?? null,
    trial_segment_reason: payload.reason ?? null,
    trial_end: trial.trial_end ?? null,
  };
  const event = {
    id: deliveryId,
    name: payload.new_segment ? 'trial_segment_changed' : `trialcast_${payload.event ?? 'event'}`,
    data: { old_segment: payload.old_segment ?? null, new_segment: payload.new_segment ?? null, reason: payload.reason ?? null },
  };
  return [
    { method: 'PUT', url: customer, headers, body: JSON.stringify(attributes) },
    { method: 'POST', url: `${customer}/events`, headers, body: JSON.stringify(event) },
  ];
}

/**
 * The standard payload with the trial's fields at the top level (`user_id`, `email`, `trial_end`,
 * an account's `account_id`…), as Zapier maps fields; the team, a list, as `members` beside them.
 */
export function flatPayload(payload: StandardPayload): Record<string, unknown> {
  const { trial, ...rest } = payload;
  return { ...rest, ...(trial ?? {}) };
}

/** The request one attempt of a delivery sends, for the endpoint's format (a TemplateError when a template cannot make it). */
export async function renderRequest(
  format: EndpointFormat,
  endpoint: { url: string; credentials: DestinationCredentials },
  delivery: { id: string; body: string },
  publicUrl: string | null,
): Promise<RenderedRequest> {
  const post = (url: string, body: string, headers: Record<string, string> = JSON_TYPE): RenderedCall => ({ method: 'POST', url, headers, body });
  if (format === 'standard') return { calls: [post(endpoint.url, delivery.body)], signed: true };
  const payload = JSON.parse(delivery.body) as StandardPayload;
  const { credentials } = endpoint;
  switch (format) {
    case 'slack':
      return { calls: [post(endpoint.url, JSON.stringify(slackMessage(payload, publicUrl)))], signed: false };
    case 'segment': {
      const basic = `Basic ${Buffer.from(`${credentials.writeKey ?? ''}:`).toString('base64')}`;
      return {
        calls: [post(`${base(endpoint.url)}/v1/batch`, JSON.stringify(segmentBatch(payload, delivery.id)), { ...JSON_TYPE, authorization: basic })],
        signed: false,
      };
    }
    case 'hubspot':
      return { calls: [hubspotCall(payload, endpoint.url, credentials.accessToken ?? '')], signed: false };
    case 'customerio':
      return { calls: customerioCalls(payload, endpoint.url, credentials, delivery.id), signed: false };
    case 'zapier':
      return { calls: [post(endpoint.url, JSON.stringify(flatPayload(payload)))], signed: false };
    case 'template':
      return { calls: [post(endpoint.url, await evaluateTemplate(credentials.expression ?? '', payload))], signed: false };
  }
}

/** What a receiver's answer means for the delivery and the endpoint. */
export interface AnswerMeaning {
  outcome: Outcome;
  /** Why the answer disables the endpoint, if it does. */
  disables: string | null;
  /** What the attempt log should say about the answer (a destination's error explained), if anything. */
  note: string | null;
}

/** HubSpot's names for properties it does not have, from its 400 answer's validation errors. */
function missingHubspotProperties(body: string): string[] {
  return [...new Set([...body.matchAll(/PROPERTY_DOESNT_EXIST[^}]*?"name\\?":\\?"([a-z0-9_]+)/g)].map((match) => match[1]!))];
}

/**
 * What an answer means beyond its status class: Slack says a channel is gone with 404
 * `channel_not_found` or 410 `channel_is_archived`, which disable the endpoint with Slack's
 * reason (any other 410 disables it as Gone); HubSpot's 404 (no such contact yet) is retried as
 * the schedule says, and its 400 for a property it does not have names the property to create;
 * a request that could not be made (a template failing on the payload) is final.
 */
export function answerOf(format: EndpointFormat, { statusCode, body, unsendable }: Pick<AttemptResult, 'statusCode' | 'body' | 'unsendable'>): AnswerMeaning {
  // Nothing was sent (a template that fails on this payload): trying again would fail again.
  if (unsendable) return { outcome: 'final', disables: null, note: null };
  const said = (body ?? '').trim();
  const outcome = classify(statusCode);
  if (format === 'slack' && (statusCode === 410 || (statusCode === 404 && said === 'channel_not_found')))
    return { outcome: statusCode === 410 ? 'gone' : 'final', disables: `Slack answered ${statusCode} ${said.slice(0, 100) || 'Gone'}`, note: null };
  if (format === 'hubspot' && statusCode === 404)
    return { outcome: 'retry', disables: null, note: 'HubSpot has no such contact (or company) yet; retried as the schedule says' };
  if (format === 'hubspot' && statusCode === 400) {
    const missing = missingHubspotProperties(said);
    if (missing.length)
      return { outcome, disables: null, note: `HubSpot has no property ${missing.join(', ')}: create it in HubSpot (Settings → Properties, single-line text)` };
  }
  if (format === 'zapier' && outcome === 'gone') return { outcome, disables: 'Zapier answered 410: the Zap is off (the hook is deleted)', note: null };
  return { outcome, disables: outcome === 'gone' ? 'the endpoint answered 410 Gone' : null, note: null };
}
