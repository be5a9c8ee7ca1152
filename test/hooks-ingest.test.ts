/**
 * The Segment Webhooks-destination receiver and the Usermaven-style server-to-server route.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, TRIAL, type CreatedApp } from './support/operations.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const newApp = async () => (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'hooks-in' })).data!.createApp;
const sha1 = (secret: string, text: string) => createHmac('sha1', secret).update(text).digest('hex');

function hook(writeKey: string, body: unknown, signature?: string) {
  return fetch(`${stack.url}/hooks/segment/${writeKey}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Segment.io/1.0', ...(signature ? { 'x-signature': signature } : {}) },
    body: JSON.stringify(body),
  });
}

describe('Segment Webhooks destination receiver', () => {
  it('takes one message or an array; with a shared secret, X-Signature must match (the first message for a batch)', async () => {
    const app = await newApp();
    expect((await hook(app.writeKey, { type: 'track', userId: 'w1', event: 'Open' })).status).toBe(200);

    await stack.gql(`mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, segmentSharedSecret: 'shh' },
    });
    const single = { version: 1, type: 'page', userId: 'w1', properties: { path: '/pricing' }, timestamp: '2012-12-02T00:30:08.276Z' };
    const unsigned = await hook(app.writeKey, single);
    expect(unsigned.status).toBe(401);
    expect((await unsigned.json()).error).toMatch(/missing X-Signature/);
    expect((await hook(app.writeKey, single, sha1('wrong', JSON.stringify(single)))).status).toBe(401);
    expect((await hook(app.writeKey, single, sha1('shh', JSON.stringify(single)))).status).toBe(200);

    const batch = [
      { type: 'track', userId: 'w1', event: 'A', messageId: 'a' },
      { type: 'track', userId: 'w1', event: 'B', messageId: 'b' },
    ];
    const response = await hook(app.writeKey, batch, sha1('shh', JSON.stringify(batch[0])));
    expect(await response.json()).toEqual({ success: true, accepted: 2, rejected: [] });
    expect(await stack.count('select count(*) as n from events where app_id = $1', [app.app.id])).toBe(4);
    expect((await hook('wk_unknown', single)).status).toBe(401);
  });

  it('integrations says which secrets are set, never the secrets, and only to the app itself', async () => {
    const app = await newApp();
    const STATE = `query($a: ID!) { integrations(appId: $a) { segmentSharedSecretSet stripeSigningSecretSet } }`;
    expect((await stack.gql(STATE, { a: app.app.id })).data.integrations).toEqual({ segmentSharedSecretSet: false, stripeSigningSecretSet: false });
    await stack.gql(`mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, stripeSigningSecret: 'whsec_abc' },
    });
    const set = await stack.gql(STATE, { a: app.app.id }, app.apiKey);
    expect(set.data.integrations).toEqual({ segmentSharedSecretSet: false, stripeSigningSecretSet: true });
    expect(JSON.stringify(set)).not.toContain('whsec_abc');
    const other = await newApp();
    expect((await stack.gql(STATE, { a: app.app.id }, other.apiKey)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('accepts the documented alias spelling ("Previous ID", "User ID")', async () => {
    const app = await newApp();
    const response = await hook(app.writeKey, { type: 'alias', 'Previous ID': 'old-id', 'User ID': 'new-id', timestamp: '2012-12-02T00:30:08.276Z' });
    expect(response.status).toBe(200);
    expect(await stack.count(`select count(*) as n from identities where app_id = $1 and anonymous_id = 'old-id' and user_id = 'new-id'`, [app.app.id])).toBe(
      1,
    );
  });

  it('a delete call erases the user’s events and identities and ends their trial', async () => {
    const app = await newApp();
    await hook(app.writeKey, [
      { type: 'identify', userId: 'gone', anonymousId: 'anon-gone', traits: { trial_end: '2099-01-01T00:00:00Z' } },
      { type: 'track', userId: 'gone', event: 'Something' },
      { type: 'track', userId: 'stays', event: 'Something' },
    ]);
    await eventually(async () => (await stack.gql(TRIAL, { appId: app.app.id, userId: 'gone' })).data.trial?.segment ?? undefined);
    expect((await hook(app.writeKey, { type: 'delete', userId: 'gone', timestamp: '2012-12-02T00:30:08.276Z' })).status).toBe(200);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and user_id = 'gone'`, [app.app.id])).toBe(0);
    expect(await stack.count(`select count(*) as n from identities where app_id = $1 and user_id = 'gone'`, [app.app.id])).toBe(0);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and user_id = 'stays'`, [app.app.id])).toBe(1);
    expect((await stack.gql(TRIAL, { appId: app.app.id, userId: 'gone' })).data.trial).toBeNull();
  });
});

describe('server-to-server events (Usermaven-style)', () => {
  const s2s = (token: string | null, body: unknown, bearer = false) =>
    fetch(`${stack.url}/api/v1/s2s/event${token && !bearer ? `?token=${encodeURIComponent(token)}` : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer && token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('accepts the seed’s payloads by token or Bearer, deduplicates event_id, and stitches anonymous_id', async () => {
    const app = await newApp();
    const token = `${app.writeKey}.${app.serverToken}`;
    const paid = {
      api_key: app.writeKey,
      event_type: 'Subscription Payment Succeeded',
      user: { id: 'usr_1a2b3c4d5e' },
      event_attributes: { amount: 2900 },
      event_id: 'evt-1',
    };
    expect((await s2s(token, paid)).status).toBe(200);
    expect((await s2s(token, paid, true)).status).toBe(200);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and message_id = 'evt-1'`, [app.app.id])).toBe(1);
    const call = { api_key: app.writeKey, event_type: 'Call Completed', user: { anonymous_id: '5zdta4zak9' }, event_attributes: { duration: 345 } };
    const batch = await s2s(token, [call, { ...paid, event_id: 'evt-2' }]);
    expect(await batch.json()).toEqual({ success: true, accepted: 2, rejected: [] });
    const rows = await stack.sql(`select properties from events where app_id = $1 and event = 'Call Completed'`, [app.app.id]);
    expect(rows[0].properties).toEqual({ duration: 345 });
  });

  it('401 for a bad token; 400 naming the missing field', async () => {
    const app = await newApp();
    const token = `${app.writeKey}.${app.serverToken}`;
    expect((await s2s(`${app.writeKey}.st_wrong`, {})).status).toBe(401);
    expect((await s2s(null, {})).status).toBe(401);
    const cases: Array<[unknown, RegExp]> = [
      [{ event_type: 'x', user: { id: 'u' } }, /api_key is required/],
      [{ api_key: app.writeKey, user: { id: 'u' } }, /event_type is required/],
      [{ api_key: app.writeKey, event_type: 'x', user: {} }, /user\.id or user\.anonymous_id is required/],
      [{ api_key: 'wk_other', event_type: 'x', user: { id: 'u' } }, /api_key is not this token's API key/],
    ];
    for (const [body, message] of cases) {
      const response = await s2s(token, body);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatch(message);
    }
  });
});
