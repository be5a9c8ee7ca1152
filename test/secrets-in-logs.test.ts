/**
 * Secrets never reach the logs: a whole stack logs at trace level into a buffer while every
 * credential is created, used, used wrongly and rotated; then the buffer is searched.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
    const endpoint = (
      await stack.gql(
        `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id secret } } }`,
        { i: { appId: app.app.id, url: hook.url } },
        app.apiKey,
      )
    ).data.createWebhookEndpoint.endpoint;
    const stripeSecret = 'whsec_stripe_logtest_0123456789';
    const segmentSecret = 'segment-shared-logtest-0123456789';
    await stack.gql(
      `mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }`,
      { i: { appId: app.app.id, stripeSigningSecret: stripeSecret, segmentSharedSecret: segmentSecret } },
      app.apiKey,
    );
    const basic = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
    await fetch(`${stack.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: JSON.stringify({ userId: 'u', event: 'Trial Started', properties: { trial_end: '2099-01-01T00:00:00Z' } }),
    });
    await fetch(`${stack.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ writeKey: app.writeKey, userId: 'u', event: 'Body Key' }),
    });
    await fetch(`${stack.url}/api/v1/s2s/event?token=${app.writeKey}.${app.serverToken}`, {
      method: 'POST',
      body: JSON.stringify({ api_key: app.writeKey, event_type: 'x', user: { id: 'u' } }),
    });
    await fetch(`${stack.url}/hooks/segment/${app.writeKey}`, { method: 'POST', body: '{"type":"track"}', headers: { 'x-signature': 'bad' } });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'logged', trialEnd: '2099-01-01T00:00:00Z' } }, app.apiKey);
    await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { message } } }`, { e: endpoint.id }, app.apiKey);
    const rotated = (await stack.gql(`mutation($e: ID!) { rotateWebhookSecret(endpointId: $e) { endpoint { secret } } }`, { e: endpoint.id }, app.apiKey)).data
      .rotateWebhookSecret.endpoint.secret;
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

  it('hold no path, query string, key or secret when requests fail on any route, with 4xx or 500', async () => {
    // An API process of its own, logging at trace, whose database goes away half-way (so handlers throw).
    const failing: string[] = [];
    const api = await startTestStack({ role: 'api', logger: createLogger('trace', { write: (line: string) => void failing.push(line) }) });
    try {
      const app = (await api.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'failing' })).data!.createApp;
      const basic = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
      const everyRoute = async () => {
        const requests: Array<[string, RequestInit]> = [
          ...['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch'].map((type): [string, RequestInit] => [
            `/v1/${type}`,
            {
              method: 'POST',
              headers: { authorization: basic, 'content-type': 'application/json' },
              body: JSON.stringify({ userId: 'u', event: 'E', previousId: 'p', batch: [{ type: 'track', userId: 'u', event: 'E' }] }),
            },
          ]),
          ['/v1/track', { method: 'POST', headers: { authorization: basic }, body: '{"userId":' }],
          [`/hooks/segment/${app.writeKey}`, { method: 'POST', body: JSON.stringify({ type: 'track', userId: 'u', event: 'E' }) }],
          [`/hooks/segment/${app.writeKey}x`, { method: 'POST', body: '{}' }],
          [
            `/api/v1/s2s/event?token=${app.writeKey}.${app.serverToken}`,
            { method: 'POST', body: JSON.stringify({ api_key: app.writeKey, event_type: 'x', user: { id: 'u' } }) },
          ],
          [`/api/v1/s2s/event?token=${app.writeKey}.wrong`, { method: 'POST', body: '{}' }],
          [`/hooks/stripe/${app.app.id}`, { method: 'POST', headers: { 'stripe-signature': 't=1,v1=00' }, body: '{}' }],
          [
            '/graphql',
            {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${app.apiKey}` },
              body: JSON.stringify({ query: '{ apps { id } }' }),
            },
          ],
          [`/graphql?token=${app.apiKey}`, { method: 'GET' }],
          ['/readyz', { method: 'GET' }],
          ['/metrics', { method: 'GET' }],
          [`/nowhere/${app.writeKey}?token=${app.serverToken}`, { method: 'GET' }],
        ];
        return Promise.all(requests.map(async ([path, init]) => (await fetch(`${api.url}${path}`, init)).status));
      };
      const before = await everyRoute();
      expect(before.some((status) => status >= 400 && status < 500)).toBe(true);
      // The database refuses this process from now on (new connections too), so handlers throw.
      const admin = new pg.Client({ connectionString: inject('postgresUrl') });
      await admin.connect();
      const database = new URL(api.databaseUrl).pathname.slice(1);
      await admin.query(`alter database ${database} with allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
      await admin.end();
      const after = await everyRoute();
      expect(after.filter((status) => status === 500).length, JSON.stringify(after)).toBeGreaterThan(5);
      await new Promise((resolve) => setTimeout(resolve, 200));

      const text = failing.join('');
      expect(text).toContain('"msg":"request failed"');
      for (const secret of [app.writeKey, app.serverToken, app.apiKey, api.adminToken]) expect(text.includes(secret)).toBe(false);
      // Routes are logged as their pattern (/hooks/segment/:id), never as the path itself.
      expect(text).toContain('"route":"/hooks/segment/:id"');
      for (const pattern of [/\/hooks\/segment\/(?!:id")/, /\/hooks\/stripe\/(?!:id")/, /\?token=/, /\/nowhere\//, /"path":"/, /"url":"/])
        expect(
          failing.filter((line) => pattern.test(line)),
          String(pattern),
        ).toEqual([]);
    } finally {
      await api.stop();
    }
  });
});
