import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { FieldError } from '../../core/field-error.ts';
import { newId } from '../../ids.ts';
import { App } from '../apps/app.entity.ts';
import { parseIsoDuration } from '../../core/durations.ts';
import { EVENT_TYPES } from './catalog.ts';
import { DEFAULT_RETRY_SCHEDULE } from '../../core/retry-policy.ts';
import { newWebhookSecret } from './signing.ts';
import { resolveTarget } from './ssrf.ts';
import { WebhookEndpoint, type IWebhookEndpoint } from './webhook-endpoint.entity.ts';
import { expressionProblem } from './template.ts';
import { CREDENTIALS_NEEDED, defaultUrl, type DestinationCredentials, type EndpointFormat } from './formats.ts';
import type { SecretBox } from '../../secret-box.ts';
import { targetOf, type RenderTarget } from './sending.ts';

export const MAX_ENDPOINTS_PER_APP = 10;
/** During a rotation the old secret keeps signing this long, so receivers can switch. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;
/** Headers we set ourselves; a custom header may not replace them. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'user-agent', 'host', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);

export interface EndpointInput {
  url?: string | null;
  description?: string | null;
  eventTypes?: string[] | null;
  headers?: Array<{ name: string; value: string }> | null;
  timeoutMs?: number | null;
  /** Requests a second at most; 0 removes the throttle. */
  maxPerSecond?: number | null;
  retrySchedule?: string[] | null;
  enabled?: boolean | null;
  ordered?: boolean | null;
  disableAfter?: string | null;
  format?: EndpointFormat | null;
  /** Only moves into these segments; an empty list: every move. */
  segments?: string[] | null;
  /** A destination's credentials; write-only (sealed, never returned). `region` picks Customer.io's API when no URL is given. */
  destination?: (DestinationCredentials & { region?: 'us' | 'eu' | null }) | null;
}

/** What saving an endpoint needs besides the database: the SSRF setting, and the key that seals destinations' credentials. */
export interface EndpointDeps {
  allowPrivate: boolean;
  secrets: SecretBox;
}

const credential = (name: string) => z.string().min(1, `${name} must be 1 to 500 characters`).max(500, `${name} must be 1 to 500 characters`).nullish();

/** The endpoint inputs' rules (their validation in GraphQL); a field left out is not checked. The URL's SSRF check needs DNS and runs on save. */
export const endpointInputRules = z.looseObject({
  description: z.string().max(500, 'description must be at most 500 characters').nullish(),
  eventTypes: z
    .array(
      z.string().refine((type) => type === '*' || EVENT_TYPES.includes(type), {
        error: (issue) => `unknown event type ${JSON.stringify(issue.input)}; use '*' or some of ${EVENT_TYPES.join(', ')}`,
      }),
    )
    .min(1, "eventTypes must not be empty; '*' takes every type")
    .nullish(),
  headers: z
    .array(
      z.looseObject({
        name: z.string().refine((name) => /^[A-Za-z0-9-]{1,100}$/.test(name) && !RESERVED_HEADERS.has(name.toLowerCase()), {
          error: (issue) => `header ${JSON.stringify(issue.input)} is not allowed: a token of letters, digits and dashes, not one Trialcast sets itself`,
        }),
        value: z.string().refine((value) => !/[\r\n]/.test(value) && value.length <= 1000, 'a header value is at most 1000 characters, without line breaks'),
      }),
    )
    .max(20, 'at most 20 headers')
    .nullish(),
  timeoutMs: z.number().int().min(1000, 'timeoutMs must be 1000 to 30000').max(30_000, 'timeoutMs must be 1000 to 30000').nullish(),
  maxPerSecond: z
    .number()
    .int()
    .min(0, 'maxPerSecond must be 1 to 1000, or 0 for no throttle')
    .max(1000, 'maxPerSecond must be 1 to 1000, or 0 for no throttle')
    .nullish(),
  retrySchedule: z
    .array(
      z.string().refine((step) => parseIsoDuration(step) !== null, {
        error: (issue) => `retrySchedule step ${JSON.stringify(issue.input)} is not an ISO-8601 duration such as PT5S`,
      }),
    )
    .min(1, 'retrySchedule takes 1 to 20 steps')
    .max(20, 'retrySchedule takes 1 to 20 steps')
    .nullish(),
  disableAfter: z
    .string()
    .refine((text) => (parseIsoDuration(text) ?? 0) >= 1000, 'disableAfter must be an ISO-8601 duration of at least a second, such as P5D')
    .nullish(),
  destination: z
    .looseObject({
      writeKey: credential('writeKey'),
      accessToken: credential('accessToken'),
      siteId: credential('siteId'),
      apiKey: credential('apiKey'),
      expression: z
        .string()
        .nullish()
        .superRefine((expression, context) => {
          const problem = expression == null ? null : expressionProblem(expression);
          if (problem) context.addIssue({ code: 'custom', message: problem });
        }),
      region: z.enum(['us', 'eu'], 'region is us or eu').nullish(),
    })
    .nullish(),
});

/** The credentials a format goes out with: those given now over those saved, and the ones it still lacks. */
function credentialsFor(format: EndpointFormat, input: EndpointInput, current: IWebhookEndpoint | null, secrets: SecretBox) {
  const saved: DestinationCredentials = current?.destination ? JSON.parse(secrets.open(current.destination)) : {};
  const { region = null, ...given } = input.destination ?? {};
  const typed = Object.fromEntries(Object.entries(given).filter(([, value]) => value != null)) as DestinationCredentials;
  const credentials: DestinationCredentials = { ...saved, ...typed };
  const missing: FieldError[] = CREDENTIALS_NEEDED[format]
    .filter((name) => !credentials[name])
    .map((name) => ({ field: `destination.${name}`, message: `the ${format} format needs destination.${name}`, code: 'INVALID' }));
  return { credentials, typed, region, missing };
}

/**
 * The fields to set from input that passed endpointInputRules, once its URL passes the SSRF
 * check and its format has the credentials it needs (given now, or saved before).
 */
async function toFields(
  input: EndpointInput,
  { allowPrivate, secrets }: EndpointDeps,
  current: IWebhookEndpoint | null,
): Promise<{ fields: Partial<IWebhookEndpoint>; errors: FieldError[] }> {
  const fields: Partial<IWebhookEndpoint> = {};
  const format = input.format ?? (current?.format as EndpointFormat | undefined) ?? 'standard';
  const { credentials, typed, region, missing } = credentialsFor(format, input, current, secrets);
  if (missing.length) return { fields, errors: missing };
  if (input.format != null) fields.format = input.format;
  if (input.segments != null) fields.segments = input.segments.length ? [...new Set(input.segments)] : null;
  if (Object.keys(typed).length) fields.destination = secrets.seal(JSON.stringify(credentials));
  // A destination's own API is where it is unless a URL says otherwise (a proxy, a test receiver).
  const url = input.url ?? (current ? null : defaultUrl(format, region));
  if (url != null) {
    try {
      await resolveTarget(url, allowPrivate);
      fields.url = url;
    } catch (error) {
      return { fields, errors: [{ field: 'url', message: (error as Error).message, code: 'INVALID_URL' }] };
    }
  }
  if (input.eventTypes != null) fields.eventTypes = [...new Set(input.eventTypes)];
  if (input.headers != null) fields.headers = Object.fromEntries(input.headers.map((header) => [header.name, header.value]));
  if (input.timeoutMs != null) fields.timeoutMs = input.timeoutMs;
  if (input.maxPerSecond != null) fields.maxPerSecond = input.maxPerSecond || null;
  if (input.retrySchedule != null) fields.retrySchedule = input.retrySchedule;
  if (input.description != null) fields.description = input.description;
  if (input.enabled != null) {
    fields.enabled = input.enabled;
    // Re-enabled: a fresh start, the old run of failures forgotten.
    if (input.enabled) Object.assign(fields, { disabledReason: null, failingSince: null });
  }
  if (input.ordered != null) fields.ordered = input.ordered;
  if (input.disableAfter != null) fields.disableAfter = input.disableAfter;
  return { fields, errors: [] };
}

export async function createEndpoint(
  em: EntityManager,
  appId: string,
  input: EndpointInput,
  deps: EndpointDeps,
): Promise<{ endpoint?: IWebhookEndpoint; errors: FieldError[] }> {
  const app = await em.findOne(App, { id: appId });
  if (!app) return { errors: [{ field: 'appId', message: `no app ${appId}`, code: 'NOT_FOUND' }] };
  if ((await em.count(WebhookEndpoint, { app })) >= MAX_ENDPOINTS_PER_APP) {
    return { errors: [{ field: null, message: `an app has at most ${MAX_ENDPOINTS_PER_APP} endpoints`, code: 'LIMIT_REACHED' }] };
  }
  const { fields, errors } = await toFields(input, deps, null);
  if (errors.length) return { errors };
  if (fields.url == null) return { errors: [{ field: 'url', message: 'url is required', code: 'INVALID' }] };
  const endpoint = em.create(WebhookEndpoint, {
    id: newId('ep'),
    app,
    url: fields.url!,
    format: fields.format ?? 'standard',
    destination: fields.destination ?? null,
    segments: fields.segments ?? null,
    description: fields.description ?? null,
    eventTypes: fields.eventTypes ?? ['trial.segment_changed'],
    headers: fields.headers ?? {},
    secret: deps.secrets.seal(newWebhookSecret()),
    timeoutMs: fields.timeoutMs ?? 15_000,
    maxPerSecond: fields.maxPerSecond ?? null,
    retrySchedule: fields.retrySchedule ?? DEFAULT_RETRY_SCHEDULE,
    enabled: fields.enabled ?? true,
    ordered: fields.ordered ?? true,
    disableAfter: fields.disableAfter ?? 'P5D',
  });
  await em.flush();
  return { endpoint, errors: [] };
}

export async function updateEndpoint(
  em: EntityManager,
  endpoint: IWebhookEndpoint,
  input: EndpointInput,
  deps: EndpointDeps,
): Promise<{ endpoint?: IWebhookEndpoint; errors: FieldError[] }> {
  const { fields, errors } = await toFields(input, deps, endpoint);
  if (errors.length) return { errors };
  em.assign(endpoint, fields);
  await em.flush();
  return { endpoint, errors: [] };
}

/**
 * What an endpoint as drafted in the console's form (a new one, or a saved one with changes)
 * would send, before it is saved: its settings over the saved ones; nothing is checked against
 * SSRF, since nothing is sent. A problem (credentials missing, no URL) is said instead.
 */
export function draftTarget(input: EndpointInput, current: IWebhookEndpoint | null, secrets: SecretBox, at: Date): RenderTarget | { problem: string } {
  const format = input.format ?? (current?.format as EndpointFormat | undefined) ?? 'standard';
  const { credentials, region, missing } = credentialsFor(format, input, current, secrets);
  if (missing.length) return { problem: missing.map((error) => error.message).join('; ') };
  const url = input.url || (current?.url ?? defaultUrl(format, region));
  if (!url) return { problem: 'a URL is needed to show the request' };
  const headers = input.headers ? Object.fromEntries(input.headers.map((header) => [header.name, header.value])) : (current?.headers ?? {});
  // A new endpoint has no secret yet: a made-up one shows the signature's shape.
  const signingSecrets = current ? targetOf(current, secrets, at).signingSecrets : [newWebhookSecret()];
  return { format, url, headers, credentials, signingSecrets };
}

export async function rotateSecret(em: EntityManager, endpoint: IWebhookEndpoint, secrets: SecretBox): Promise<IWebhookEndpoint> {
  endpoint.previousSecret = endpoint.secret;
  endpoint.previousSecretExpiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS);
  endpoint.secret = secrets.seal(newWebhookSecret());
  await em.flush();
  return endpoint;
}
