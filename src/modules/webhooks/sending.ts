/**
 * One HTTP attempt of a delivery: the SSRF check (at every attempt: DNS may have changed),
 * the Standard Webhooks signature, and the POST to the address that was checked.
 */
import { storableText } from '../../core/storable-text.ts';
import { postOnce, type AttemptResult } from './http-attempt.ts';
import { signatureHeaders } from './signing.ts';
import { resolveTarget } from './ssrf.ts';
import type { IWebhookDelivery } from './webhook-delivery.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';

export const USER_AGENT = `Trialcast/${process.env.npm_package_version ?? '0.1.0'}`;

/** Secrets that sign now: the current one, and the previous one during a rotation's overlap. */
function signingSecrets(endpoint: IWebhookEndpoint, now: Date): string[] {
  const overlap = endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now;
  return overlap ? [endpoint.secret, endpoint.previousSecret!] : [endpoint.secret];
}

/** Never throws: a refused target or a network error is an attempt's result like any answer. */
export async function sendAttempt(delivery: IWebhookDelivery, allowPrivate: boolean, attemptedAt: Date): Promise<AttemptResult> {
  const endpoint = delivery.endpoint;
  try {
    const target = await resolveTarget(endpoint.url, allowPrivate);
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    const headers = {
      ...endpoint.headers,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...signatureHeaders(signingSecrets(endpoint, attemptedAt), delivery.id, timestamp, delivery.body),
    };
    return await postOnce(target, headers, delivery.body, endpoint.timeoutMs);
  } catch (error) {
    return { statusCode: null, headers: {}, body: null, durationMs: 0, error: storableText((error as Error).message) };
  }
}
