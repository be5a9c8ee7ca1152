/**
 * The Segment HTTP Tracking API: real HTTP, the official analytics-node client, real
 * PostgreSQL, and the lifecycle workflow reacting to what events say.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, SEGMENT_CHANGED, START_TRIAL, TRIAL, type CreatedApp } from './support/operations.ts';
import { holdMessageId } from './support/held-write.ts';
import { STORE_EVENTS } from '../src/modules/ingest/event-writer.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function newApp(settings?: Record<string, unknown>): Promise<CreatedApp> {
  const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'ingest' })).data!.createApp;
  if (settings) await saveSettings(app, settings);
  return app;
}

async function saveSettings(app: CreatedApp, settings: Record<string, unknown>): Promise<void> {
  const { data } = await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
    i: { appId: app.app.id, ...settings },
  });
  expect(data.updateSegmentSettings.errors).toEqual([]);
}

function post(path: string, body: unknown, writeKey?: string, raw?: string, api: TestStack = stack) {
  return fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(writeKey ? { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` } : {}),
    },
    body: raw ?? JSON.stringify(body),
  });
}

describe('Segment HTTP Tracking API', () => {
  it('the official @segment/analytics-node client works unchanged, and starts the trial from identify traits', async () => {
    const app = await newApp();
    const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, path: '/v1/batch', flushAt: 3, maxRetries: 0 });
    analytics.identify({ userId: 'u-node', traits: { email: 'node@example.com', trial_end: '2099-02-01T00:00:00Z' } });
    analytics.track({ userId: 'u-node', event: 'Report Created', properties: { size: 3 } });
    analytics.page({ userId: 'u-node', name: 'Pricing' });
    await analytics.closeAndFlush({ timeout: 5000 });

    expect(await stack.count('select count(*) as n from events where app_id = $1 and user_id = $2', [app.app.id, 'u-node'])).toBe(3);
    const trial = await eventually(async () => {
      const { data } = await stack.gql(TRIAL, { appId: app.app.id, userId: 'u-node' });
      return data.trial?.segment ? data.trial : undefined;
    });
    expect(trial).toMatchObject({ email: 'node@example.com', trialEnd: '2099-02-01T00:00:00.000Z', segment: 'exploring' });
  });

  it('answers 200 {success:true}, accepts writeKey in the body, and counts a re-sent messageId once', async () => {
    const app = await newApp();
    const message = { userId: 'dup', event: 'Clicked', messageId: 'm-1', writeKey: app.writeKey };
    for (let i = 0; i < 3; i += 1) {
      const response = await post('/v1/track', message);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ success: true });
    }
    expect(await stack.count('select count(*) as n from events where app_id = $1 and message_id = $2', [app.app.id, 'm-1'])).toBe(1);
    // Without a messageId, identical content is the same message.
    await post('/v1/track', { userId: 'dup', event: 'No id', timestamp: '2025-01-01T00:00:00Z' }, app.writeKey);
    await post('/v1/track', { userId: 'dup', event: 'No id', timestamp: '2025-01-01T00:00:00Z' }, app.writeKey);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and event = 'No id'`, [app.app.id])).toBe(1);
  });

  it('corrects client clock skew with sentAt: timestamp = receivedAt − (sentAt − originalTimestamp)', async () => {
    const app = await newApp();
    const before = Date.now();
    await post(
      '/v1/track',
      { userId: 'skew', event: 'Skewed', originalTimestamp: '2030-01-01T00:00:00.000Z', sentAt: '2030-01-01T00:00:10.000Z' },
      app.writeKey,
    );
    const rows = await stack.sql(`select timestamp from events where app_id = $1 and event = 'Skewed'`, [app.app.id]);
    const stored = (rows[0].timestamp as Date).getTime();
    expect(stored).toBeGreaterThanOrEqual(before - 10_000 - 5);
    expect(stored).toBeLessThanOrEqual(Date.now() - 10_000 + 5);
  });

  it('stitches anonymous events to the user after identify, and merges a batch context into each message', async () => {
    const app = await newApp();
    await post(
      '/v1/batch',
      {
        batch: [
          { type: 'page', anonymousId: 'anon-1', name: 'Home' },
          { type: 'track', anonymousId: 'anon-1', event: 'Signed Up' },
        ],
        context: { library: { name: 'test' } },
      },
      app.writeKey,
    );
    expect(await stack.count('select count(*) as n from events where app_id = $1 and anonymous_id = $2 and user_id is null', [app.app.id, 'anon-1'])).toBe(2);
    await post('/v1/identify', { anonymousId: 'anon-1', userId: 'known', traits: { email: 'k@example.com' } }, app.writeKey);
    expect(await stack.count('select count(*) as n from events where app_id = $1 and user_id = $2', [app.app.id, 'known'])).toBe(3);
    // Later anonymous events are attributed at once.
    await post('/v1/track', { anonymousId: 'anon-1', event: 'Later' }, app.writeKey);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and user_id = 'known' and event = 'Later'`, [app.app.id])).toBe(1);
    const rows = await stack.sql(`select context from events where app_id = $1 and event = 'Signed Up'`, [app.app.id]);
    expect(rows[0].context).toEqual({ library: { name: 'test' } });
  });

  it('refuses bad input with a 4xx naming the problem', async () => {
    const app = await newApp();
    const cases: Array<[string, unknown, string | undefined, number, RegExp, string?]> = [
      ['/v1/track', { userId: 'x' }, app.writeKey, 400, /event is required for track/],
      ['/v1/track', { event: 'x' }, app.writeKey, 400, /userId or anonymousId is required/],
      ['/v1/alias', { userId: 'x' }, app.writeKey, 400, /previousId is required for alias/],
      ['/v1/track', { userId: 'x', event: 'e', properties: [1] }, app.writeKey, 400, /properties must be an object/],
      ['/v1/track', { userId: 'x', event: 'e', timestamp: 'yesterday' }, app.writeKey, 400, /timestamp must be an ISO-8601/],
      ['/v1/track', { userId: 'x', event: 'e', messageId: 'm'.repeat(101) }, app.writeKey, 400, /messageId must be a string of 1 to 100/],
      ['/v1/track', { userId: 'x', event: 'e' }, undefined, 401, /missing write key/],
      ['/v1/track', { userId: 'x', event: 'e' }, 'wk_wrong', 401, /unknown write key/],
      ['/v1/track', null, app.writeKey, 400, /malformed JSON/, '{"userId":'],
      ['/v1/track', { userId: 'x', event: 'e', properties: { blob: 'x'.repeat(33_000) } }, app.writeKey, 413, /limit/],
    ];
    for (const [path, body, key, status, message, raw] of cases) {
      const response = await post(path, body, key, raw);
      expect(response.status, JSON.stringify(body)?.slice(0, 80)).toBe(status);
      expect((await response.json()).error).toMatch(message);
    }
  });

  it('in a batch, one bad message never loses the good ones', async () => {
    const app = await newApp();
    const response = await post(
      '/v1/batch',
      {
        batch: [
          { type: 'track', userId: 'b', event: 'Good 1' },
          { type: 'track', userId: 'b' },
          { type: 'teleport', userId: 'b' },
          { type: 'identify', userId: 'b' },
        ],
      },
      app.writeKey,
    );
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2]);
    expect(body.rejected[1].error).toMatch(/type must be one of/);
    expect(await stack.count('select count(*) as n from events where app_id = $1', [app.app.id])).toBe(2);
  });
});

describe('events drive segments', () => {
  it('an aha event moves the trial to found_value, a conversion event to converted, through ingest', async () => {
    const app = await newApp({ ahaEvents: ['Report Created'], conversionEvents: ['Subscribed'] });
    const live = collect<{ segmentChanged: { newSegment: string; reason: string } }>(stack.ws(app.apiKey), SEGMENT_CHANGED, { appId: app.app.id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await post('/v1/track', { userId: 'journey', event: TRIAL_STARTED, properties: { trial_end: '2099-01-01T00:00:00Z' } }, app.writeKey);
    await live.next(1);
    await post('/v1/track', { userId: 'journey', event: 'Something Else' }, app.writeKey);
    await post('/v1/track', { userId: 'journey', event: 'Report Created' }, app.writeKey);
    await live.next(2);
    // The aha is marked on the trial by the move it brought (ingest then stops telling the workflow of aha events).
    await eventually(async () =>
      (await stack.count(`select count(*) as n from trials where app_id = $1 and user_id = 'journey' and aha_reached_at is not null`, [app.app.id])) === 1
        ? true
        : undefined,
    );
    await post('/v1/track', { userId: 'journey', event: 'Subscribed' }, app.writeKey);
    const events = (await live.next(3)).map((event) => [event.segmentChanged.newSegment, event.segmentChanged.reason]);
    expect(events).toEqual([
      ['exploring', 'trial_started'],
      ['found_value', 'aha_event_received'],
      ['converted', 'converted'],
    ]);
  });

  it('a quiet user who comes back is exploring again; events while active only move the activity record', async () => {
    const app = await newApp({ inactivityAfter: 'PT2S' });
    const live = collect<{ segmentChanged: { newSegment: string; reason: string } }>(stack.ws(app.apiKey), SEGMENT_CHANGED, { appId: app.app.id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await post('/v1/identify', { userId: 'returner', traits: { trial_end: '2099-01-01T00:00:00Z' } }, app.writeKey);
    await live.next(1);
    // Activity every second keeps the user active without a signal: the timer reads the record.
    for (let i = 0; i < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await post('/v1/track', { userId: 'returner', event: 'Tick' }, app.writeKey);
    }
    expect(live.events).toHaveLength(1);
    await live.next(2, 5000);
    expect(live.events[1]!.segmentChanged).toMatchObject({ newSegment: 'gone_quiet', reason: 'inactivity' });
    await post('/v1/track', { userId: 'returner', event: 'Back' }, app.writeKey);
    const [, , third] = await live.next(3);
    expect(third!.segmentChanged).toMatchObject({ newSegment: 'exploring', reason: 'activity_resumed' });
  });
});

describe('settings saved through another API process', () => {
  it('a new aha event decides the very next event ingested elsewhere, though that process had the old settings cached', async () => {
    const other = await startTestStack({
      role: 'api',
      config: { databaseUrl: stack.databaseUrl, temporalTaskQueue: stack.config.temporalTaskQueue, adminToken: stack.adminToken },
    });
    try {
      const app = await newApp();
      const track = (event: string) => post('/v1/track', { userId: 'elsewhere', event }, app.writeKey, undefined, other);
      expect((await post('/v1/identify', { userId: 'elsewhere', traits: { trial_end: '2099-01-01T00:00:00Z' } }, app.writeKey, undefined, other)).status).toBe(
        200,
      );
      await eventually(async () =>
        (await stack.gql(TRIAL, { appId: app.app.id, userId: 'elsewhere' })).data.trial?.segment === 'exploring' ? true : undefined,
      );
      // The other process now holds the settings without aha events (its cache keeps them a second).
      expect((await track('Report Viewed')).status).toBe(200);
      await saveSettings(app, { ahaEvents: ['Report Viewed'] });
      expect((await track('Report Viewed')).status).toBe(200);
      const moved = await eventually(async () => {
        const { data } = await stack.gql(TRIAL, { appId: app.app.id, userId: 'elsewhere' });
        return data.trial?.segment === 'found_value' ? data.trial : undefined;
      }, 5000);
      expect(moved.segment).toBe('found_value');
    } finally {
      await other.stop();
    }
  });
});

describe('events before the trial', () => {
  it('an aha event stored before the trial starts counts from its first segment', async () => {
    const app = await newApp({ ahaEvents: ['Report Shared'] });
    expect((await post('/v1/track', { userId: 'early', event: 'Report Shared', messageId: 'early-aha' }, app.writeKey)).status).toBe(200);
    expect((await post('/v1/identify', { userId: 'early', messageId: 'early-id', traits: { trial_end: '2099-01-01T00:00:00Z' } }, app.writeKey)).status).toBe(
      200,
    );
    const first = await eventually(async () => {
      const rows = await stack.sql(
        `select c.new_segment, c.reason from segment_changes c join trials t on t.id = c.trial_id where t.app_id = $1 and t.user_id = 'early' and c.sequence = 1`,
        [app.app.id],
      );
      return rows[0];
    });
    expect(first).toEqual({ new_segment: 'found_value', reason: 'trial_started' });
  });

  it('an aha event whose write began before the trial was stored, and committed after the workflow first looked, still counts', async () => {
    // Identify and track come as concurrent requests from RudderStack and browsers: the track's statement can take its
    // snapshot before the trial's row is committed (so it finds no trial to tell) and commit after the new workflow
    // read the stored events (so that read missed it too). A transaction here holding the event's messageId makes the
    // track's statement wait between the two, and the trial starts meanwhile.
    const app = await newApp({ ahaEvents: ['Report Shared'] });
    const held = await holdMessageId(stack.databaseUrl, app.app.id, 'straddling-aha');
    try {
      const track = post('/v1/track', { userId: 'straddler', event: 'Report Shared', messageId: 'straddling-aha' }, app.writeKey);
      await held.waiting();
      const { data } = await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'straddler', trialEnd: '2099-01-01T00:00:00Z' } });
      expect(data.startTrial.errors).toEqual([]);
      await eventually(async () =>
        (await stack.gql(TRIAL, { appId: app.app.id, userId: 'straddler' })).data.trial?.segment === 'exploring' ? true : undefined,
      );
      await held.release();
      expect((await track).status).toBe(200);
    } finally {
      await held.release();
    }
    const trial = await eventually(async () => {
      const { data } = await stack.gql(TRIAL, { appId: app.app.id, userId: 'straddler' });
      return data.trial?.segment === 'found_value' ? data.trial : undefined;
    });
    expect(trial.segment).toBe('found_value');
  });
});

describe('limits, allow-list and volume', () => {
  it('over the app rate limit: 429 with Retry-After, nothing stored for the refused request', async () => {
    const app = await newApp({ rateLimitPerSecond: 5 });
    const batch = (n: number, tag: string) => ({
      batch: Array.from({ length: n }, (_, i) => ({ type: 'track', userId: 'r', event: 'E', messageId: `${tag}-${i}` })),
    });
    expect((await post('/v1/batch', batch(10, 'a'), app.writeKey)).status).toBe(200);
    const refused = await post('/v1/batch', batch(3, 'b'), app.writeKey);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await refused.json()).error).toMatch(/rate limit/);
    expect(await stack.count('select count(*) as n from events where app_id = $1', [app.app.id])).toBe(10);
  });

  it('events outside the allow-list are stored and counted but do not move segments', async () => {
    const app = await newApp({ ahaEvents: ['Report Created'], eventAllowList: ['Trial Started'] });
    await post('/v1/track', { userId: 'listed', event: TRIAL_STARTED, properties: { trial_end: '2099-01-01T00:00:00Z' } }, app.writeKey);
    await eventually(async () => (await stack.gql(TRIAL, { appId: app.app.id, userId: 'listed' })).data.trial?.segment ?? undefined);
    await post('/v1/track', { userId: 'listed', event: 'Report Created' }, app.writeKey);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await stack.gql(TRIAL, { appId: app.app.id, userId: 'listed' })).data.trial.segment).toBe('exploring');
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and event = 'Report Created'`, [app.app.id])).toBe(1);
  });

  it('eventVolume and signalQueue count what came in, per name', async () => {
    const app = await newApp();
    await post(
      '/v1/batch',
      {
        batch: [
          { type: 'track', userId: 'v', event: 'Clicked', messageId: '1' },
          { type: 'track', userId: 'v', event: 'Clicked', messageId: '2' },
          { type: 'page', userId: 'v', name: 'Pricing', messageId: '3' },
        ],
      },
      app.writeKey,
    );
    const { data } = await stack.gql(`query($a: ID!) { eventVolume(appId: $a) { day type event count } signalQueue(appId: $a) { type event count } }`, {
      a: app.app.id,
    });
    const today = new Date().toISOString().slice(0, 10);
    expect(data.eventVolume).toEqual([
      { day: today, type: 'track', event: 'Clicked', count: 2 },
      { day: today, type: 'page', event: 'Pricing', count: 1 },
    ]);
    expect(data.signalQueue).toEqual([
      { type: 'track', event: 'Clicked', count: 2 },
      { type: 'page', event: 'Pricing', count: 1 },
    ]);
  });
});

describe('aha rules with a property and a count', () => {
  it('found_value only once the counted, matching events are all in', async () => {
    const app = await newApp({ ahaRules: [{ event: 'Project Created', property: 'plan.tier', equals: 'pro', count: 2 }] });
    const live = collect<{ segmentChanged: { newSegment: string; reason: string } }>(stack.ws(app.apiKey), SEGMENT_CHANGED, { appId: app.app.id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await post('/v1/identify', { userId: 'counted', traits: { trial_end: '2099-01-01T00:00:00Z' } }, app.writeKey);
    await live.next(1);
    // Distinct messageIds: identical content without one would be the same message, counted once.
    await post('/v1/track', { userId: 'counted', event: 'Project Created', messageId: 'p1', properties: { plan: { tier: 'pro' } } }, app.writeKey);
    await post('/v1/track', { userId: 'counted', event: 'Project Created', messageId: 'p2', properties: { plan: { tier: 'free' } } }, app.writeKey);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(live.events).toHaveLength(1);
    await post('/v1/track', { userId: 'counted', event: 'Project Created', messageId: 'p3', properties: { plan: { tier: 'pro' } } }, app.writeKey);
    const [, second] = await live.next(2);
    expect(second!.segmentChanged).toMatchObject({ newSegment: 'found_value', reason: 'aha_event_received' });
  });

  it('refuses a rule with equals but no property, naming it', async () => {
    const app = await newApp();
    const { data } = await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { field message } } }`, {
      i: { appId: app.app.id, ahaRules: [{ event: 'A' }, { event: 'B', equals: 'x' }] },
    });
    expect(data.updateSegmentSettings.errors).toEqual([{ field: 'ahaRules.1.property', message: 'a property is needed when equals is given' }]);
  });
});

const TRIAL_STARTED = 'Trial Started';

describe('what a write reads', () => {
  /** The relations a plan (EXPLAIN's JSON) reads whole. */
  const wholeReads = (node: { 'Node Type': string; 'Relation Name'?: string; Plans?: unknown[] }): string[] => [
    ...(node['Node Type'] === 'Seq Scan' ? [node['Relation Name']!] : []),
    ...((node.Plans ?? []) as Array<typeof node>).flatMap(wholeReads),
  ];

  it("checks a batch's messageIds against what the app stored by index, reading none of its other events, however many", async () => {
    const app = await newApp();
    await stack.sql(
      `insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
       select $1, 'stored-' || n, 'track', 'Viewed', 'reader-' || (n % 50), '{}', '{}', '{}', now(), now() - (n % 5) * interval '1 day'
         from generate_series(1, 5000) n`,
      [app.app.id],
    );
    await stack.sql('analyze events');
    // The plan a prepared statement settles on (its generic plan, for any batch).
    const [
      {
        'QUERY PLAN': [{ Plan: plan }],
      },
    ] = await stack.sql(`explain (generic_plan, format json) ${STORE_EVENTS}`);
    // (An empty partition, next month's, may be read whole: there is nothing to read.)
    const holding = (await stack.sql(`select distinct tableoid::regclass::text as relation from events where app_id = $1`, [app.app.id])).map(
      (row: { relation: string }) => row.relation,
    );
    expect(holding.length).toBeGreaterThan(0);
    expect(wholeReads(plan).filter((relation) => holding.includes(relation))).toEqual([]);
    // And a message among them is still known when it comes again.
    const again = await post('/v1/track', { messageId: 'stored-7', userId: 'reader-7', event: 'Viewed' }, app.writeKey);
    expect(again.status).toBe(200);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and message_id = 'stored-7'`, [app.app.id])).toBe(1);
  });
});
