/**
 * One HTTP attempt of a delivery: the request its endpoint's format makes of it, the SSRF check
 * (at every attempt: DNS may have changed), the Standard Webhooks signature, and the POST to the
 * address that was checked.
 */
import { storableText } from '../../core/storable-text.ts';
import { postOnce, type AttemptResult } from './http-attempt.ts';
import { signatureHeaders } from './signing.ts';
import { resolveTarget } from './ssrf.ts';
import type { IWebhookDelivery } from './webhook-delivery.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { renderRequest, type DestinationCredentials, type EndpointFormat } from './formats.ts';
import type { SecretBox } from '../../secret-box.ts';

export const USER_AGENT = `Trialcast/${process.env.npm_package_version ?? '0.1.0'}`;

/** Secrets that sign now: the current one, and the previous one during a rotation's overlap. */
function signingSecrets(endpoint: IWebhookEndpoint, now: Date): string[] {
  const overlap = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now;
  return overlap ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}

/** The endpoint's sealed destination credentials, opened. */
function credentialsOf(endpoint: IWebhookEndpoint, secrets: SecretBox): DestinationCredentials {
  return endpoint.destination ? (JSON.parse(secrets.open(endpoint.destination)) as DestinationCredentials) : {};
}

/**
 * Never throws: a refused target, credentials that cannot be opened or a network error is an
 * attempt's result like any answer. The request is rendered for the endpoint's format; only the
 * standard format is signed.
 */
export async function sendAttempt(
  delivery: IWebhookDelivery,
  deps: Pick<DeliveryDeps, 'allowPrivate' | 'secrets' | 'publicUrl'>,
  attemptedAt: Date,
): Promise<AttemptResult> {
  const endpoint = delivery.endpoint;
  try {
    const format = endpoint.format as EndpointFormat;
    const request = renderRequest(format, { url: endpoint.url, credentials: credentialsOf(endpoint, deps.secrets) }, delivery, deps.publicUrl);
    const target = await resolveTarget(request.url, deps.allowPrivate);
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    const headers = {
      ...endpoint.headers,
      ...request.headers,
      'user-agent': USER_AGENT,
      ...(request.signed ? signatureHeaders(signingSecrets(endpoint, attemptedAt), delivery.id, timestamp, delivery.body) : {}),
    };
    return await postOnce(target, headers, request.body, endpoint.timeoutMs);
  } catch (error) {
    return { statusCode: null, headers: {}, body: null, durationMs: 0, error: storableText((error as Error).message) };
  }
}
