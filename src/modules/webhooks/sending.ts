/**
 * One HTTP attempt of a delivery: the request its endpoint's format makes of it, the SSRF check
 * (at every attempt: DNS may have changed), the Standard Webhooks signature, and the POST to the
 * address that was checked.
 */
import { storableText } from '../../core/storable-text.ts';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { attemptClass, requestOnce, type AttemptResult } from './http-attempt.ts';
import { classify } from '../../core/retry-policy.ts';
import { signatureHeaders } from './signing.ts';
import { openSigningSecret } from './signing-secrets.ts';
import { resolveTarget } from './ssrf.ts';
import type { DeliveryView } from './webhook-delivery.entity.ts';
import type { EndpointView } from './webhook-endpoint.entity.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { renderRequest, type DestinationCredentials, type EndpointFormat, type RenderedCall } from './formats.ts';
import { TemplateError } from './template.ts';
import type { SecretBox } from '../../secret-box.ts';

/** The SSRF check refused an attempt's address (DNS may have changed since the endpoint was saved). */
class RefusedTarget extends Error {}

const tracer = trace.getTracer('trialcast');

export const USER_AGENT = `Trialcast/${process.env.npm_package_version ?? '0.1.0'}`;

/** What rendering an attempt's calls needs of an endpoint: a saved one's settings, or a draft's in the console's form. */
export interface RenderTarget {
  format: EndpointFormat;
  url: string;
  headers: Record<string, string>;
  credentials: DestinationCredentials;
  /** Secrets that sign now: the current one, and the previous one during a rotation's overlap. */
  signingSecrets: string[];
}

/** A saved endpoint's target: its settings, its sealed credentials opened. */
export function targetOf(endpoint: EndpointView, secrets: SecretBox, at: Date): RenderTarget {
  const overlap = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > at;
  return {
    format: endpoint.format as EndpointFormat,
    url: endpoint.url,
    headers: endpoint.headers,
    credentials: endpoint.destination ? (JSON.parse(secrets.open(endpoint.destination)) as DestinationCredentials) : {},
    signingSecrets: (overlap ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret]).map((stored) => openSigningSecret(stored, secrets)),
  };
}

/**
 * The calls an attempt of this delivery makes, each with every header it goes out with: the
 * endpoint's own, the format's, ours, and the signature when the format is signed.
 */
async function renderCalls(target: RenderTarget, delivery: { id: string; body: string }, publicUrl: string | null, at: Date): Promise<RenderedCall[]> {
  const request = await renderRequest(target.format, target, delivery, publicUrl);
  const signature = request.signed ? signatureHeaders(target.signingSecrets, delivery.id, Math.floor(at.getTime() / 1000), delivery.body) : {};
  return request.calls.map((call) => ({ ...call, headers: { ...target.headers, ...call.headers, 'user-agent': USER_AGENT, ...signature } }));
}

/**
 * Never throws: a refused target, credentials that cannot be opened or a network error is an
 * attempt's result like any answer. The request is rendered for the endpoint's format (one call,
 * or Customer.io's two, made in order: the first that is not 2xx is the attempt's answer); each
 * call's address is checked against SSRF; only the standard format is signed.
 */
export async function sendAttempt(
  delivery: DeliveryView,
  deps: Pick<DeliveryDeps, 'allowPrivate' | 'secrets' | 'publicUrl'>,
  attemptedAt: Date,
): Promise<AttemptResult> {
  // The attempt's span (a no-op unless tracing is on) ends the trace of the move that planned it.
  return tracer.startActiveSpan(
    'webhook attempt',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'trialcast.endpoint.id': delivery.endpoint.id, 'trialcast.delivery.id': delivery.id, 'trialcast.event.type': delivery.eventType },
    },
    async (span) => {
      const result = await attemptCalls(delivery, deps, attemptedAt);
      const outcome = attemptClass(result);
      span.setAttribute('trialcast.attempt.outcome', outcome);
      if (result.statusCode !== null) span.setAttribute('http.response.status_code', result.statusCode);
      if (outcome !== '2xx') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
      return result;
    },
  );
}

async function attemptCalls(
  delivery: DeliveryView,
  deps: Pick<DeliveryDeps, 'allowPrivate' | 'secrets' | 'publicUrl'>,
  attemptedAt: Date,
): Promise<AttemptResult> {
  const started = performance.now();
  try {
    let result: AttemptResult | null = null;
    // The endpoint's timeout bounds the attempt's exchanges together (one, or Customer.io's two).
    let left = delivery.endpoint.timeoutMs;
    for (const call of await renderCalls(targetOf(delivery.endpoint, deps.secrets, attemptedAt), delivery, deps.publicUrl, attemptedAt)) {
      const target = await resolveTarget(call.url, deps.allowPrivate).catch((error: Error) => {
        throw new RefusedTarget(error.message);
      });
      result = await requestOnce(target, call.method, call.headers, call.body, Math.max(left, 1));
      left -= result.durationMs;
      if (classify(result.statusCode) !== 'delivered') break;
    }
    return { ...result!, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const failed = { statusCode: null, headers: {}, body: null, durationMs, error: storableText((error as Error).message) };
    if (error instanceof TemplateError) return { ...failed, unsendable: true };
    return error instanceof RefusedTarget ? { ...failed, refused: true } : failed;
  }
}

/** What an attempt would send for this body, its credentials shown masked: the console's preview of an endpoint. */
export async function previewRequest(target: RenderTarget, body: string, publicUrl: string | null, at: Date): Promise<RenderedCall[]> {
  const calls = await renderCalls(target, { id: 'msg_preview', body }, publicUrl, at);
  return calls.map((call) =>
    call.headers.authorization ? { ...call, headers: { ...call.headers, authorization: masked(call.headers.authorization) } } : call,
  );
}

/** `Basic ••••`: the scheme shown, the credential not. */
const masked = (authorization: string) => `${authorization.split(' ')[0]} ••••`;
