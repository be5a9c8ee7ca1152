/**
 * The endpoint form's values and the API's endpoint input, both ways: the formats and the
 * credentials each asks for, durations typed as people say them, and where an API field's
 * problem is shown in the form. Pure.
 */
import type { FieldPath } from 'react-hook-form';
import { humanDuration, toIsoDuration } from '../../durations.ts';
import { commaList } from '../../field.tsx';
import type { CreateWebhookEndpointInput, EndpointFormat } from '../../gql/graphql.ts';

/** Each format: its label, what its URL is, and the credentials it asks for (write-only). */
export const FORMATS: Array<{ value: EndpointFormat; label: string; url: string; urlOptional?: boolean; credentials: Array<keyof Credentials> }> = [
  { value: 'standard', label: 'Signed webhooks (Standard Webhooks)', url: 'Endpoint URL', credentials: [] },
  { value: 'slack', label: 'Slack (incoming webhook)', url: 'Slack incoming-webhook URL', credentials: [] },
  {
    value: 'segment',
    label: 'Segment-compatible tracking API (Segment, RudderStack, another Trialcast)',
    url: 'Tracking API base URL',
    credentials: ['writeKey'],
  },
  { value: 'hubspot', label: 'HubSpot (contact or company properties)', url: 'HubSpot API URL', urlOptional: true, credentials: ['accessToken'] },
  { value: 'customerio', label: 'Customer.io (Track API)', url: 'Track API URL', urlOptional: true, credentials: ['siteId', 'apiKey'] },
  { value: 'template', label: 'Any HTTP API (a JSONata template of the body)', url: 'API URL', credentials: ['expression'] },
];

export interface Credentials {
  writeKey: string;
  accessToken: string;
  siteId: string;
  apiKey: string;
  expression: string;
}

export const CREDENTIAL_LABELS: Record<keyof Credentials, string> = {
  writeKey: 'Destination write key',
  accessToken: 'Private app access token',
  siteId: 'Site ID',
  apiKey: 'API key',
  expression: 'JSONata expression (the body, from the standard payload)',
};

export interface EndpointSettings {
  id: string;
  format: EndpointFormat;
  destinationSet: boolean;
  url: string;
  description?: string | null;
  eventTypes: string[];
  headers: Array<{ name: string; value: string }>;
  timeoutMs: number;
  maxPerSecond?: number | null;
  ordered: boolean;
  retrySchedule: string[];
  disableAfter: string;
}

export interface Values extends Credentials {
  format: EndpointFormat;
  region: 'us' | 'eu';
  url: string;
  description: string;
  eventTypes: string;
  headers: Array<{ name: string; value: string }>;
  timeoutSeconds: string;
  maxPerSecond: string;
  ordered: boolean;
  retrySchedule: string;
  disableAfter: string;
}

export type EndpointInput = Omit<CreateWebhookEndpointInput, 'appId'>;
export type SaveResult = { errors: ReadonlyArray<{ field?: string | null; message: string }> } | { failure: string };

/** Where an API field path (timeoutMs, headers.0.name, retrySchedule.2) is shown in this form. */
export function formField(path: string | null | undefined): FieldPath<Values> | 'root' {
  const [head] = (path ?? '').split('.');
  if (head === 'timeoutMs') return 'timeoutSeconds';
  if (head === 'maxPerSecond') return 'maxPerSecond';
  const [, credential] = (path ?? '').split('.');
  if (head === 'destination' && credential && credential in CREDENTIAL_LABELS) return credential as keyof Credentials;
  if (head === 'url' || head === 'description' || head === 'eventTypes' || head === 'headers' || head === 'retrySchedule' || head === 'disableAfter')
    return head;
  return 'root';
}

export function initialValues(endpoint: EndpointSettings | undefined): Values {
  return {
    format: endpoint?.format ?? 'standard',
    // Write-only: empty keeps what is saved.
    writeKey: '',
    accessToken: '',
    siteId: '',
    apiKey: '',
    expression: '',
    region: 'us',
    url: endpoint?.url ?? '',
    description: endpoint?.description ?? '',
    eventTypes: (endpoint?.eventTypes ?? ['trial.segment_changed']).join(', '),
    headers: endpoint?.headers.map(({ name, value }) => ({ name, value })) ?? [],
    timeoutSeconds: endpoint ? String(endpoint.timeoutMs / 1000) : '15',
    maxPerSecond: endpoint?.maxPerSecond ? String(endpoint.maxPerSecond) : '',
    ordered: endpoint?.ordered ?? true,
    retrySchedule: endpoint ? endpoint.retrySchedule.map(humanDuration).join(', ') : '',
    disableAfter: endpoint ? humanDuration(endpoint.disableAfter) : '5 days',
  };
}

/** The form's values as the API takes them, or the first value that cannot be read, at its field. */
export function toEndpointInput(values: Values): { input: EndpointInput } | { problem: { field: FieldPath<Values>; message: string } } {
  const format = FORMATS.find((candidate) => candidate.value === values.format) ?? FORMATS[0]!;
  const problem = (field: FieldPath<Values>, message: string) => ({ problem: { field, message } });
  const schedule = commaList(values.retrySchedule).map((text) => [text, toIsoDuration(text)] as const);
  const badDelay = schedule.find(([, iso]) => iso === null);
  if (badDelay) return problem('retrySchedule', `"${badDelay[0]}" is not a duration: say it as "5 seconds", "30 minutes" or "2 hours"`);
  const disableAfter = toIsoDuration(values.disableAfter);
  if (!disableAfter) return problem('disableAfter', `"${values.disableAfter}" is not a duration: say it as "5 days" or "12 hours"`);
  const seconds = Number(values.timeoutSeconds);
  if (!Number.isFinite(seconds)) return problem('timeoutSeconds', 'the timeout is a number of seconds, from 1 to 30');
  const perSecond = values.maxPerSecond.trim() ? Number(values.maxPerSecond) : 0;
  if (!Number.isInteger(perSecond)) return problem('maxPerSecond', 'the limit is a whole number of requests a second, from 1 to 1000');
  const typed = Object.fromEntries(format.credentials.map((name) => [name, values[name].trim()]).filter(([, value]) => value));
  return {
    input: {
      format: values.format,
      ...(Object.keys(typed).length ? { destination: { ...typed, ...(values.format === 'customerio' ? { region: values.region } : {}) } } : {}),
      // A destination's own API when left empty (HubSpot's; Customer.io's of the region).
      ...(values.url.trim() || !format.urlOptional ? { url: values.url.trim() } : {}),
      description: values.description.trim() || null,
      eventTypes: commaList(values.eventTypes),
      headers: values.headers.filter((header) => header.name.trim()).map((header) => ({ name: header.name.trim(), value: header.value })),
      timeoutMs: Math.round(seconds * 1000),
      // Empty: no throttle (0 removes a saved one).
      maxPerSecond: perSecond,
      ordered: values.ordered,
      // Left empty: the Standard Webhooks schedule.
      ...(schedule.length ? { retrySchedule: schedule.map(([, iso]) => iso!) } : {}),
      disableAfter,
    },
  };
}
