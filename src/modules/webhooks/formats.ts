/**
 * Destinations: what one delivery becomes on the wire for its endpoint's format, and what the
 * receiver's answer means. Pure: a delivery keeps the standard body (so redelivery, outage
 * replay and the attempt log work for every format alike) and is rendered at each attempt.
 * - `standard`: the body as stored, signed per Standard Webhooks (sending.ts adds the signature);
 * - `slack`: a Slack incoming-webhook message, `text` beside Block Kit `blocks`;
 * - `segment`: an `identify` (traits trial_segment, trial_segment_reason, trial_end) and a
 *   `track` "Trial Segment Changed", one `/v1/batch` with the destination's write key, their
 *   messageIds derived from the webhook-id so a retried delivery is counted once by the receiver.
 */
import type { Outcome } from '../../core/retry-policy.ts';

export const ENDPOINT_FORMATS = ['standard', 'slack', 'segment'] as const;
export type EndpointFormat = (typeof ENDPOINT_FORMATS)[number];

/** The credentials a format needs (kept sealed; never shown again once saved). */
export interface DestinationCredentials {
  writeKey?: string;
}

export interface RenderedRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
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

/** The request one attempt of a delivery sends, for the endpoint's format. */
export function renderRequest(
  format: EndpointFormat,
  endpoint: { url: string; credentials: DestinationCredentials },
  delivery: { id: string; body: string },
  publicUrl: string | null,
): RenderedRequest {
  const json = { 'content-type': 'application/json' };
  if (format === 'standard') return { url: endpoint.url, headers: json, body: delivery.body, signed: true };
  const payload = JSON.parse(delivery.body) as StandardPayload;
  if (format === 'slack') return { url: endpoint.url, headers: json, body: JSON.stringify(slackMessage(payload, publicUrl)), signed: false };
  const basic = `Basic ${Buffer.from(`${endpoint.credentials.writeKey ?? ''}:`).toString('base64')}`;
  return {
    url: `${endpoint.url.replace(/\/+$/, '')}/v1/batch`,
    headers: { ...json, authorization: basic },
    body: JSON.stringify(segmentBatch(payload, delivery.id)),
    signed: false,
  };
}

/**
 * What an answer means beyond its status class: Slack says a channel is gone with 404
 * `channel_not_found` or 410 `channel_is_archived`, and either disables the endpoint with Slack's
 * reason; any other 410 disables it as Gone. Null: nothing beyond the status class.
 */
export function disablingAnswer(format: EndpointFormat, outcome: Outcome, statusCode: number | null, body: string | null): string | null {
  const said = (body ?? '').trim().slice(0, 100);
  if (format === 'slack' && (statusCode === 410 || (statusCode === 404 && said === 'channel_not_found')))
    return `Slack answered ${statusCode} ${said || 'Gone'}`;
  return outcome === 'gone' ? 'the endpoint answered 410 Gone' : null;
}
