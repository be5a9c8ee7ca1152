/**
 * Drop-in ingest: what Segment's, RudderStack's and Usermaven's libraries send, replayed from
 * their source where they do not run here, and with RudderStack's Node SDK itself: short
 * paths and the import route, trailing slashes, text/plain bodies, the write key in the query,
 * CORS, the SDK settings documents, gzip and deflate, traits in context.traits, an empty
 * Usermaven event_id. Every rule of ingest applies on the new paths (durable, dedup, limits).
 */
import { gzipSync, deflateSync, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Analytics from '@rudderstack/rudder-sdk-node';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, type CreatedApp } from './support/operations.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const newApp = async (name: string) => (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;
const stored = (appId: string, where = 'true', params: unknown[] = []) =>
  stack.count(`select count(*) as n from events where app_id = $1 and ${where}`, [appId, ...params]);
const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${stack.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
const segmentOf = async (appId: string, userId: string) =>
  (await stack.gql(`query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { segment email } }`, { a: appId, u: userId })).data.trial;

describe('the paths and forms of the libraries', () => {
  it("Segment's browser library: short paths with text/plain bodies and the write key in the body; batches on /v1/b", async () => {
    const app = await newApp('short-paths');
    const message = (type: string, extra: object) => JSON.stringify({ writeKey: app.writeKey, type, userId: 'sp', messageId: `${type}-1`, ...extra });
    for (const [path, body] of [
      ['/v1/i', message('identify', { traits: { plan: 'pro' } })],
      ['/v1/t', message('track', { event: 'Clicked' })],
      ['/v1/p', message('page', { name: 'Home' })],
      ['/v1/s', message('screen', { name: 'Home' })],
      ['/v1/g', message('group', { groupId: 'g1' })],
      ['/v1/a', message('alias', { previousId: 'anon-1' })],
    ] as const) {
      const answer = await post(path, body, { 'content-type': 'text/plain' });
      expect(answer.status, path).toBe(200);
    }
    const batch = await post(
      '/v1/b',
      JSON.stringify({ writeKey: app.writeKey, batch: [{ type: 'track', userId: 'sp', event: 'Batched', messageId: 'b-1' }] }),
      { 'content-type': 'text/plain' },
    );
    expect(batch.status).toBe(200);
    expect(await stored(app.app.id)).toBe(7);
  });

  it("the import route of Segment's Ruby (/v1/import) and Java (/v1/import/) libraries, and a trailing slash on every route", async () => {
    const app = await newApp('import');
    const basic = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` };
    const batch = (id: string) => JSON.stringify({ batch: [{ type: 'track', userId: 'imp', event: 'Imported', messageId: id }] });
    expect((await post('/v1/import', batch('ruby'), basic)).status).toBe(200);
    expect((await post('/v1/import/', batch('java'), basic)).status).toBe(200);
    for (const path of ['/v1/track/', '/v1/identify/', '/v1/batch/', '/v1/t/']) {
      const body = path.includes('batch') ? batch(`slash-${path}`) : JSON.stringify({ userId: 'imp', event: 'Slashed', messageId: `slash-${path}` });
      expect((await post(path, body, basic)).status, path).toBe(200);
    }
    expect(await stored(app.app.id)).toBe(6);
  });

  it("RudderStack's beacon: text/plain to /beacon/v1/batch with the write key in the query", async () => {
    const app = await newApp('beacon');
    const body = JSON.stringify({ batch: [{ type: 'track', userId: 'bcn', event: 'Left Page', messageId: 'bcn-1' }], sentAt: new Date().toISOString() });
    const answer = await post(`/beacon/v1/batch?writeKey=${encodeURIComponent(app.writeKey)}`, body, { 'content-type': 'text/plain;charset=UTF-8' });
    expect(answer.status).toBe(200);
    expect(await stored(app.app.id, "event = 'Left Page'")).toBe(1);
    expect((await post('/beacon/v1/batch?writeKey=wk_nobody', body)).status).toBe(401);
  });

  it('CORS: a preflight gets the method and headers the SDKs ask for, kept a day; answers carry the origin', async () => {
    const app = await newApp('cors');
    const preflight = await fetch(`${stack.url}/v1/t`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.customer.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization,x-retry-count,anonymousid,rsa-request-retry-count',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.customer.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type,authorization,x-retry-count,anonymousid,rsa-request-retry-count');
    expect(preflight.headers.get('access-control-max-age')).toBe('86400');
    const sent = await post('/v1/t', JSON.stringify({ writeKey: app.writeKey, userId: 'c', event: 'E' }), { origin: 'https://app.customer.example' });
    expect(sent.status).toBe(200);
    expect(sent.headers.get('access-control-allow-origin')).toBe('https://app.customer.example');
    // A refusal carries it too, so the page can read why.
    const refused = await post('/v1/t', '{"writeKey":"wk_nobody","userId":"c","event":"E"}', { origin: 'https://app.customer.example' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.customer.example');
  });

  it("an app's allowedOrigins: pages elsewhere are refused with 403 naming the origin, and nothing of theirs is stored", async () => {
    const app = await newApp('origins');
    const updated = await stack.gql(
      `mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { settings { allowedOrigins } errors { field message } } }`,
      {
        i: { appId: app.app.id, allowedOrigins: ['https://App.Customer.example', 'not an origin'] },
      },
    );
    expect(updated.data.updateSegmentSettings.errors[0]).toMatchObject({ field: 'allowedOrigins.1', message: expect.stringMatching(/not an origin/) });
    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, allowedOrigins: ['https://App.Customer.example'] },
    });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // ingest keeps an app's settings for a second
    const body = JSON.stringify({ writeKey: app.writeKey, userId: 'o', event: 'E' });
    const elsewhere = await post('/v1/t', body, { origin: 'https://evil.example' });
    expect(elsewhere.status).toBe(403);
    expect(((await elsewhere.json()) as { error: string }).error).toBe("origin https://evil.example is not among this app's allowed origins");
    expect((await post('/v1/t', body, { origin: 'https://app.customer.example' })).status).toBe(200);
    // Servers send no Origin: they are not browsers.
    expect((await post('/v1/t', JSON.stringify({ writeKey: app.writeKey, userId: 'o', event: 'Server' }))).status).toBe(200);
    expect(await stored(app.app.id)).toBe(2);
  });
});

describe('the documents browser SDKs load first', () => {
  it("Segment's settings and RudderStack's source config, for a known write key only, pointing back at this host", async () => {
    const app = await newApp('documents');
    const host = new URL(stack.url).host;
    const settings = await fetch(`${stack.url}/v1/projects/${encodeURIComponent(app.writeKey)}/settings`, {
      headers: { origin: 'https://app.customer.example' },
    });
    expect(settings.status).toBe(200);
    expect(settings.headers.get('access-control-allow-origin')).toBe('https://app.customer.example');
    const body = (await settings.json()) as { integrations: Record<string, { apiKey: string; apiHost: string; protocol: string }>; remotePlugins: unknown[] };
    expect(body.integrations['Segment.io']).toMatchObject({ apiKey: app.writeKey, apiHost: `${host}/v1`, protocol: 'http' });
    expect(body.remotePlugins).toEqual([]);
    expect((await fetch(`${stack.url}/v1/projects/wk_nobody/settings`)).status).toBe(404);

    const config = await fetch(`${stack.url}/sourceConfig/?p=npm&v=3.34.1&writeKey=${encodeURIComponent(app.writeKey)}&lockIntegrationsVersion=false`);
    expect(config.status).toBe(200);
    const source = ((await config.json()) as { source: { id: string; config: object; destinations: unknown[]; writeKey: string } }).source;
    expect(source).toMatchObject({ id: app.app.id, writeKey: app.writeKey, destinations: [] });
    expect(typeof source.config).toBe('object');
    expect((await fetch(`${stack.url}/sourceConfig/?writeKey=wk_nobody`)).status).toBe(404);
  });
});

describe('compressed bodies', () => {
  it('gzip and deflate (zlib or raw) bodies are inflated; limits apply to what they inflate to', async () => {
    const app = await newApp('gzip');
    const basic = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` };
    const batch = (id: string) => Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'gz', event: 'Compressed', messageId: id }] }));
    expect((await post('/v1/batch', gzipSync(batch('gz')), { ...basic, 'content-encoding': 'gzip' })).status).toBe(200);
    expect((await post('/v1/batch', deflateSync(batch('zlib')), { ...basic, 'content-encoding': 'deflate' })).status).toBe(200);
    expect((await post('/v1/batch', deflateRawSync(batch('raw')), { ...basic, 'content-encoding': 'deflate' })).status).toBe(200);
    expect(await stored(app.app.id)).toBe(3);
    // 10 KB that inflate to 10 MB: refused without inflating them all.
    const bomb = gzipSync(Buffer.from(`{"batch":[],"pad":"${'x'.repeat(10_000_000)}"}`));
    expect(bomb.length).toBeLessThan(20_000);
    const refused = await post('/v1/batch', bomb, { ...basic, 'content-encoding': 'gzip' });
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: string }).error).toMatch(/inflates past the limit of 512000 bytes/);
    expect((await post('/v1/batch', Buffer.from('not gzip at all'), { ...basic, 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await post('/v1/batch', batch('br'), { ...basic, 'content-encoding': 'br' })).status).toBe(415);
  });

  it("RudderStack's Node SDK (gzip by default, /v1/batch) starts a trial from identify traits and records its events", async () => {
    const app = await newApp('rudder-node');
    const client = new Analytics(app.writeKey, { dataPlaneUrl: stack.url, flushAt: 2, flushInterval: 200, retryCount: 0, logLevel: 'error' });
    client.identify({ userId: 'rs-node', traits: { email: 'rs@example.com', trial_end: '2099-01-01T00:00:00Z' } });
    client.track({ userId: 'rs-node', event: 'Signed In', properties: { plan: 'pro' } });
    await new Promise<void>((resolve, reject) => client.flush((error?: unknown) => (error ? reject(error) : resolve())));
    await eventually(async () => ((await stored(app.app.id)) === 2 ? true : undefined));
    expect(await eventually(async () => (await segmentOf(app.app.id, 'rs-node')) ?? undefined)).toMatchObject({ email: 'rs@example.com' });
  });
});

describe('what the messages carry', () => {
  it("an identify's traits in context.traits (RudderStack's browser and mobile SDKs) start the trial, the top level winning", async () => {
    const app = await newApp('context-traits');
    const basic = { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` };
    const identify = {
      userId: 'ctx',
      context: { traits: { email: 'context@example.com', trial_end: '2099-01-01T00:00:00Z' } },
      traits: { email: 'top@example.com' },
    };
    expect((await post('/v1/identify', JSON.stringify(identify), basic)).status).toBe(200);
    expect(await eventually(async () => (await segmentOf(app.app.id, 'ctx')) ?? undefined)).toMatchObject({ email: 'top@example.com' });
    const onlyContext = { userId: 'ctx-only', context: { traits: { email: 'only@example.com', trial_end: '2099-01-01T00:00:00Z' } } };
    expect((await post('/v1/identify', JSON.stringify(onlyContext), basic)).status).toBe(200);
    expect(await eventually(async () => (await segmentOf(app.app.id, 'ctx-only')) ?? undefined)).toMatchObject({ email: 'only@example.com' });
  });

  it("Usermaven's Python SDK: /api/v1/s2s/event/ with a trailing slash and an empty event_id (no id: deduplicated by content)", async () => {
    const app = await newApp('usermaven');
    const event = JSON.stringify({
      api_key: app.writeKey,
      event_type: 'signed_up',
      event_id: '',
      user: { id: 'um-1', email: 'um@example.com' },
      event_attributes: { plan: 'pro' },
    });
    for (let i = 0; i < 2; i++) {
      const answer = await post(`/api/v1/s2s/event/?token=${app.writeKey}.${app.serverToken}`, event, { 'content-type': 'application/json' });
      expect(answer.status).toBe(200);
    }
    expect(await stored(app.app.id, "event = 'signed_up'")).toBe(1);
  });
});
