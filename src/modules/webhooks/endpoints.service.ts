import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldError } from '../../graphql/common.ts';
import { newId } from '../../ids.ts';
import { App } from '../apps/app.entity.ts';
import { parseIsoDuration } from '../trials/durations.ts';
import { OPERATIONAL_EVENT_TYPES } from './operational-events.ts';
import { DEFAULT_RETRY_SCHEDULE, validSchedule } from './retry-policy.ts';
import { newWebhookSecret } from './signing.ts';
import { resolveTarget } from './ssrf.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';

export const MAX_ENDPOINTS_PER_APP = 10;
/** During a rotation the old secret keeps signing this long, so receivers can switch. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
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
/** Headers we set ourselves; a custom header may not replace them. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'user-agent', 'host', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);

export interface EndpointInput {
  url?: string | null;
  description?: string | null;
  eventTypes?: string[] | null;
  headers?: Array<{ name: string; value: string }> | null;
  timeoutMs?: number | null;
  retrySchedule?: string[] | null;
  enabled?: boolean | null;
  ordered?: boolean | null;
  disableAfter?: string | null;
}

/** Checks what is given (SSRF included) and returns the fields to set. */
async function validated(input: EndpointInput, allowPrivate: boolean): Promise<{ fields: Partial<IWebhookEndpoint>; errors: FieldError[] }> {
  const errors: FieldError[] = [];
  const fields: Partial<IWebhookEndpoint> = {};
  if (input.url != null) {
    try {
      await resolveTarget(input.url, allowPrivate);
      fields.url = input.url;
    } catch (error) {
      errors.push({ field: 'url', message: (error as Error).message, code: 'INVALID_URL' });
    }
  }
  if (input.eventTypes != null) {
    const unknown = input.eventTypes.filter((type) => type !== '*' && !EVENT_TYPES.includes(type));
    if (unknown.length || input.eventTypes.length === 0) {
      errors.push({ field: 'eventTypes', message: `eventTypes must be '*' or some of ${EVENT_TYPES.join(', ')}; unknown: ${unknown.join(', ') || '(empty list)'}`, code: 'INVALID' });
    } else fields.eventTypes = [...new Set(input.eventTypes)];
  }
  if (input.headers != null) {
    const bad = input.headers.find((header) => !/^[A-Za-z0-9-]{1,100}$/.test(header.name) || RESERVED_HEADERS.has(header.name.toLowerCase()) || /[\r\n]/.test(header.value));
    if (bad) errors.push({ field: 'headers', message: `header ${JSON.stringify(bad.name)} is not allowed (reserved, not a token, or a value with a line break)`, code: 'INVALID' });
    else fields.headers = Object.fromEntries(input.headers.map((header) => [header.name, header.value]));
  }
  if (input.timeoutMs != null) {
    if (!Number.isInteger(input.timeoutMs) || input.timeoutMs < 1000 || input.timeoutMs > 30_000) errors.push({ field: 'timeoutMs', message: 'timeoutMs must be 1000 to 30000', code: 'INVALID' });
    else fields.timeoutMs = input.timeoutMs;
  }
  if (input.retrySchedule != null) {
    if (!validSchedule(input.retrySchedule)) errors.push({ field: 'retrySchedule', message: 'retrySchedule must be 1 to 20 ISO-8601 durations, such as ["PT0S", "PT5S", "PT5M"]', code: 'INVALID' });
    else fields.retrySchedule = input.retrySchedule;
  }
  if (input.description != null) fields.description = input.description.slice(0, 500);
  if (input.enabled != null) {
    fields.enabled = input.enabled;
    // Re-enabled: a fresh start, the old run of failures forgotten.
    if (input.enabled) Object.assign(fields, { disabledReason: null, failingSince: null });
  }
  if (input.ordered != null) fields.ordered = input.ordered;
  if (input.disableAfter != null) {
    const ms = parseIsoDuration(input.disableAfter);
    if (ms === null || ms < 1000) errors.push({ field: 'disableAfter', message: 'disableAfter must be an ISO-8601 duration of at least a second, such as P5D', code: 'INVALID' });
    else fields.disableAfter = input.disableAfter;
  }
  return { fields, errors };
}

export async function createEndpoint(em: EntityManager, appId: string, input: EndpointInput, allowPrivate: boolean): Promise<{ endpoint?: IWebhookEndpoint; errors: FieldError[] }> {
  if (input.url == null) return { errors: [{ field: 'url', message: 'url is required', code: 'INVALID' }] };
  const app = await em.findOne(App, { id: appId });
  if (!app) return { errors: [{ field: 'appId', message: `no app ${appId}`, code: 'NOT_FOUND' }] };
  if ((await em.count(WebhookEndpoint, { app })) >= MAX_ENDPOINTS_PER_APP) {
    return { errors: [{ field: null, message: `an app has at most ${MAX_ENDPOINTS_PER_APP} endpoints`, code: 'LIMIT_REACHED' }] };
  }
  const { fields, errors } = await validated(input, allowPrivate);
  if (errors.length) return { errors };
  const endpoint = em.create(WebhookEndpoint, {
    id: newId('ep'),
    app,
    url: fields.url!,
    description: fields.description ?? null,
    eventTypes: fields.eventTypes ?? ['trial.segment_changed'],
    headers: fields.headers ?? {},
    secret: newWebhookSecret(),
    timeoutMs: fields.timeoutMs ?? 15_000,
    retrySchedule: fields.retrySchedule ?? DEFAULT_RETRY_SCHEDULE,
    enabled: fields.enabled ?? true,
    ordered: fields.ordered ?? true,
    disableAfter: fields.disableAfter ?? 'P5D',
  });
  await em.flush();
  return { endpoint, errors: [] };
}

export async function updateEndpoint(em: EntityManager, endpoint: IWebhookEndpoint, input: EndpointInput, allowPrivate: boolean): Promise<{ endpoint?: IWebhookEndpoint; errors: FieldError[] }> {
  const { fields, errors } = await validated(input, allowPrivate);
  if (errors.length) return { errors };
  em.assign(endpoint, fields);
  await em.flush();
  return { endpoint, errors: [] };
}

export async function rotateSecret(em: EntityManager, endpoint: IWebhookEndpoint): Promise<IWebhookEndpoint> {
  endpoint.previousSecret = endpoint.secret;
  endpoint.previousSecretExpiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS);
  endpoint.secret = newWebhookSecret();
  await em.flush();
  return endpoint;
}
