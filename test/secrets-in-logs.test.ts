/**
 * Secrets never reach the logs: a whole stack logs at trace level into a buffer while every
 * credential is created, used, used wrongly and rotated; then the buffer is searched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const lines: string[] = [];
let stack: TestStack;
let hook: Receiver;
beforeAll(async () => {
  stack = await startTestStack({ logger: createLogger('trace', { write: (line: string) => void lines.push(line) }) });
  hook = await new Receiver().script({ status: 500 }).start();
});
afterAll(async () => {
  await hook?.stop();
  await stack?.stop();
});

describe('logs', () => {
  it('never contain an API key, write key, server token, admin token or signing secret', async () => {
    const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'logs' })).data!.createApp;
    const endpoint = (await stack.gql(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id secret } } }`, { i: { appId: app.app.id, url: hook.url } }, app.apiKey)).data.createWebhookEndpoint.endpoint;
    const stripeSecret = 'whsec_stripe_logtest_0123456789';
    const segmentSecret = 'segment-shared-logtest-0123456789';
    await stack.gql(`mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }`, { i: { appId: app.app.id, stripeSigningSecret: stripeSecret, segmentSharedSecret: segmentSecret } }, app.apiKey);
    const basic = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
    await fetch(`${stack.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic }, body: JSON.stringify({ userId: 'u', event: 'Trial Started', properties: { trial_end: '2099-01-01T00:00:00Z' } }) });
    await fetch(`${stack.url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ writeKey: app.writeKey, userId: 'u', event: 'Body Key' }) });
    await fetch(`${stack.url}/api/v1/s2s/event?token=${app.writeKey}.${app.serverToken}`, { method: 'POST', body: JSON.stringify({ api_key: app.writeKey, event_type: 'x', user: { id: 'u' } }) });
    await fetch(`${stack.url}/hooks/segment/${app.writeKey}`, { method: 'POST', body: '{"type":"track"}', headers: { 'x-signature': 'bad' } });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'logged', trialEnd: '2099-01-01T00:00:00Z' } }, app.apiKey);
    await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { message } } }`, { e: endpoint.id }, app.apiKey);
    const rotated = (await stack.gql(`mutation($e: ID!) { rotateWebhookSecret(endpointId: $e) { endpoint { secret } } }`, { e: endpoint.id }, app.apiKey)).data.rotateWebhookSecret.endpoint.secret;
    await stack.gql(`{ apps { id } }`, {}, `${app.apiKey}x`);
    await hook.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const text = lines.join('');
    // The logs are there and say things (so the search below could find something).
    expect(lines.length).toBeGreaterThan(20);
    expect(text).toContain(app.app.id);
    for (const [name, secret] of Object.entries({
      apiKey: app.apiKey,
      writeKey: app.writeKey,
      serverToken: app.serverToken,
      adminToken: stack.adminToken,
      webhookSecret: endpoint.secret,
      rotatedSecret: rotated,
      stripeSecret,
      segmentSecret,
    })) {
      expect(text.includes(secret), `${name} appears in the logs`).toBe(false);
      // Nor its base64 (as in a logged Basic header).
      expect(text.includes(Buffer.from(`${secret}:`).toString('base64')), `${name} (base64) appears in the logs`).toBe(false);
    }
  });
});
