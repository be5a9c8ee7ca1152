/**
 * Property-based: random, nearly valid and hostile bodies at every ingest route and at
 * /graphql never get a 5xx and never take the server down. FUZZ_RUNS raises the count
 * (the reliability drill runs 100,000); the server runs in this process, so prototype
 * pollution would show on `{}` here.
 */
import { createHmac } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, type CreatedApp } from './support/operations.ts';
import { deepJson, deepSelection, doublingFragments } from './support/hostile-documents.ts';
import { schemaOperations } from './support/schema-arbitraries.ts';
import { schema } from '../src/graphql/schema.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const STRIPE_SECRET = 'whsec_fuzz';

let stack: TestStack;
let app: CreatedApp;
beforeAll(async () => {
  // With a worker: the schema-wide property below starts trials and sends them updates.
  stack = await startTestStack();
  app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'fuzz' })).data!.createApp;
  (globalThis as { gc?: () => void }).gc?.();
  startHeap = process.memoryUsage().heapUsed;
  startRss = process.memoryUsage().rss;
  await stack.gql(`mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }`, {
    i: { appId: app.app.id, stripeSigningSecret: STRIPE_SECRET, segmentSharedSecret: 'fuzz-shared' },
  });
});
afterAll(async () => {
  // For RELIABILITY.md's long runs: memory before and after (in this process, where the server runs),
  // after a full collection when node runs with --expose-gc.
  (globalThis as { gc?: () => void }).gc?.();
  if (process.env.FUZZ_RUNS)
    console.log(`fuzz memory: heap ${mb(startHeap)} → ${mb(process.memoryUsage().heapUsed)} MB, rss ${mb(startRss)} → ${mb(process.memoryUsage().rss)} MB`);
  await stack?.stop();
});
const mb = (bytes: number) => Math.round(bytes / 1_048_576);
let startHeap = 0;
let startRss = 0;

const deep = (depth: number): unknown => (depth === 0 ? 1 : { a: deep(depth - 1) });
const hostileValue = fc.oneof(
  fc.constantFrom(
    '1e400',
    -0,
    Number.MAX_SAFE_INTEGER,
    2 ** 64,
    '\u0000',
    '\ud800',
    'x'.repeat(40_000),
    deep(40),
    [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]],
    '2026-13-45T99:99:99Z',
    '',
    null,
  ),
  fc.jsonValue({ maxDepth: 4 }),
);
const pollution = fc.constantFrom('__proto__', 'constructor', 'prototype');
const id = fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 120 }) }, fc.integer(), fc.constant(null), hostileValue);

/** Shaped like a Segment message, with any field possibly wrong. */
const nearlyValidMessage = fc.record(
  {
    type: fc.oneof(fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias', 'delete'), fc.string()),
    userId: id,
    anonymousId: id,
    previousId: id,
    groupId: id,
    event: fc.oneof(fc.constantFrom('Trial Started', 'Signed Up', 'Order Completed'), id),
    messageId: id,
    timestamp: fc.oneof(
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      id,
    ),
    sentAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      id,
    ),
    originalTimestamp: fc.oneof(
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      id,
    ),
    properties: fc.oneof(fc.dictionary(fc.oneof(fc.string(), pollution), hostileValue), hostileValue),
    traits: fc.oneof(fc.record({ email: id, trial_start: id, trial_end: id }, { requiredKeys: [] }), hostileValue),
    context: hostileValue,
  },
  { requiredKeys: [] },
);
/** A JSON text with `__proto__` as an own key, as an attacker would send it. */
const pollutingText = fc
  .tuple(pollution, fc.jsonValue({ maxDepth: 2 }))
  .map(([key, value]) => `{"type":"track","userId":"u","event":"e","properties":{"${key}":{"polluted":${JSON.stringify(value)}}},"${key}":{"polluted":true}}`);
const s2sEvent = fc.record(
  {
    api_key: fc.oneof(fc.constant('WRITE_KEY'), id),
    event_type: id,
    event_id: id,
    user: fc.oneof(fc.record({ id, anonymous_id: id, email: id }, { requiredKeys: [] }), hostileValue),
    event_attributes: hostileValue,
  },
  { requiredKeys: [] },
);
const stripeEvent = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom('customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted', 'invoice.paid'),
      fc.string(),
    ),
    data: fc.oneof(
      fc.record(
        {
          object: fc.oneof(
            fc.record(
              {
                customer: id,
                status: fc.oneof(fc.constantFrom('trialing', 'active', 'canceled'), id),
                trial_start: hostileValue,
                trial_end: hostileValue,
                metadata: hostileValue,
                amount_paid: hostileValue,
              },
              { requiredKeys: [] },
            ),
            hostileValue,
          ),
          previous_attributes: hostileValue,
        },
        { requiredKeys: [] },
      ),
      hostileValue,
    ),
  },
  { requiredKeys: [] },
);

/** A message whose properties (or the whole body) nest from a little to far too deep for recursive code. */
const deepText = fc
  .tuple(fc.integer({ min: 30, max: 100_000 }), fc.constantFrom(['{"a":', '}'], ['[', ']']), fc.boolean())
  .map(([depth, [open, close], wrapped]) =>
    wrapped
      ? `{"type":"track","userId":"u","event":"e","properties":{"p":${deepJson(depth, open, close)}},"batch":[${deepJson(depth, open, close)}]}`
      : deepJson(depth, open, close),
  );

/** The body as bytes: JSON of the value, or broken JSON, or bytes that are not UTF-8, or nested too deep. */
function bodies(value: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 1, arbitrary: deepText.map((text) => Buffer.from(text)) },
    { weight: 6, arbitrary: value.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.array(value, { maxLength: 30 }).map((v) => Buffer.from(JSON.stringify(v))) },
    { weight: 1, arbitrary: value.map((v) => Buffer.from((JSON.stringify(v) ?? '').slice(0, -1))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: pollutingText.map((text) => Buffer.from(text)) },
  );
}
const contentType = fc.constantFrom(
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  'application/json; charset=latin1',
);

async function post(path: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${stack.url}${path}`, { method: 'POST', body: new Uint8Array(body), headers });
  await response.arrayBuffer();
  return response.status;
}

async function neverFails(path: string, value: fc.Arbitrary<unknown>, headers: (body: Buffer) => Record<string, string>) {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(bodies(value), contentType, async (body, type) => {
      const status = await post(path, body, { ...(type ? { 'content-type': type } : {}), ...headers(body) });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(status, `${status} for ${body.toString('utf8').slice(0, 300)}`).toBeLessThan(500);
    }),
    { numRuns: RUNS },
  );
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  return statuses;
}

const basic = () => ({ authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` });

describe('fuzzing every inbound route', () => {
  it.each(['identify', 'track', 'page', 'screen', 'group', 'alias'])('/v1/%s', async (type) => {
    // A share of valid messages among the hostile ones, so the property is not only about refusals.
    const valid = fc
      .record({
        messageId: fc.uuid(),
        userId: fc.string({ minLength: 1, maxLength: 40 }),
        properties: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
      })
      .map((m) => ({ ...m, type, previousId: 'p1', groupId: 'g1', event: 'Clicked' }));
    const message = fc.oneof(nearlyValidMessage, valid);
    const statuses = await neverFails(`/v1/${type}`, message, basic);
    // The generator is near enough to valid that some messages are accepted: the property is not vacuous.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
  });

  it('/v1/t and /v1/b as browsers send them (text/plain, the write key in the body), and the beacon', async () => {
    const withKey = nearlyValidMessage.map((message) => ({ ...message, writeKey: app.writeKey }));
    await neverFails('/v1/t', withKey, () => ({ origin: 'https://app.customer.example' }));
    await neverFails('/v1/b', fc.record({ writeKey: fc.constant(app.writeKey), batch: fc.array(nearlyValidMessage, { maxLength: 20 }) }), () => ({}));
    await neverFails(
      `/beacon/v1/batch?writeKey=${encodeURIComponent(app.writeKey)}`,
      fc.record({ batch: fc.array(nearlyValidMessage, { maxLength: 20 }) }),
      () => ({}),
    );
  });

  it('/v1/batch with compressed bodies: valid, cut short, not compressed at all, or of an unknown encoding', async () => {
    const batch = fc.record({ batch: fc.array(nearlyValidMessage, { maxLength: 20 }) });
    await fc.assert(
      fc.asyncProperty(
        bodies(batch),
        fc.constantFrom('gzip', 'x-gzip', 'deflate', 'br', 'identity'),
        fc.integer({ min: 0, max: 2 }),
        async (body, encoding, mangle) => {
          const compressed = encoding === 'deflate' ? deflateSync(body) : gzipSync(body);
          const sent = mangle === 0 ? compressed : mangle === 1 ? compressed.subarray(0, Math.floor(compressed.length / 2)) : body;
          const status = await post('/v1/batch', sent, { 'content-encoding': encoding, ...basic() });
          expect(status, `${status} for ${encoding}, mangled ${mangle}`).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  });

  it('/v1/batch', async () => {
    const batch = fc.oneof(
      fc.record({ batch: fc.array(nearlyValidMessage, { maxLength: 20 }), context: hostileValue }, { requiredKeys: ['batch'] }),
      hostileValue,
    );
    await neverFails('/v1/batch', batch, basic);
  });

  it('/hooks/segment/{writeKey}, signed with the shared secret', async () => {
    const sign = (body: Buffer) => ({ 'x-signature': createHmac('sha1', 'fuzz-shared').update(body).digest('hex') });
    await neverFails(`/hooks/segment/${app.writeKey}`, nearlyValidMessage, sign);
  });

  it('/api/v1/s2s/event', async () => {
    const event = s2sEvent.map((e) => JSON.parse(JSON.stringify(e).replaceAll('"WRITE_KEY"', JSON.stringify(app.writeKey))));
    const statuses = await neverFails(`/api/v1/s2s/event?token=${app.writeKey}.${app.serverToken}`, event, () => ({}));
    expect([...statuses.keys()].some((status) => status === 200 || status === 400)).toBe(true);
  });

  it('/hooks/stripe/{appId}, validly signed', async () => {
    const sign = (body: Buffer) => {
      const t = Math.floor(Date.now() / 1000);
      return {
        'stripe-signature': `t=${t},v1=${createHmac('sha256', STRIPE_SECRET)
          .update(`${t}.${body.toString('utf8')}`)
          .digest('hex')}`,
      };
    };
    await neverFails(`/hooks/stripe/${app.app.id}`, stripeEvent, sign);
  });

  it('/graphql', async () => {
    const request = fc.record(
      {
        query: fc.oneof(
          fc.constantFrom(
            '{ apps { id } }',
            'mutation { createApp(input: {name: "x"}) { apiKey } }',
            '{ __schema { types { name } } }',
            '{ trial(appId: "x", userId: "y") { id } }',
            `{ ${'a { '.repeat(200)} }`,
          ),
          fc.string(),
          // Fragments that double at every level (2^levels fields), selections nested up to 5,000 deep.
          fc
            .tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('__typename', 'apps { id }', '__schema { types { name } }'))
            .map(([levels, base]) => doublingFragments(levels, base)),
          fc.integer({ min: 1, max: 5000 }).map(deepSelection),
        ),
        variables: hostileValue,
        operationName: id,
      },
      { requiredKeys: [] },
    );
    await neverFails('/graphql', request, () => ({ authorization: `Bearer ${stack.adminToken}` }));
  });

  it('every query and mutation of the schema, its arguments generated from their types with strings PostgreSQL refuses among them', async () => {
    const strings = fc.oneof(
      fc.constantFrom(app.app.id, app.app.id, 'user-1', 'a\u0000b', '\u0000', 'x\ud800', '\udfff', 'https://example.com/\u0000', 'P3D\u0000'),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(schemaOperations(schema, strings), async ({ query, variables, field }) => {
        const response = await fetch(`${stack.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminToken}` },
          body: JSON.stringify({ query, variables }),
        });
        const text = await response.text();
        expect(response.status, `${response.status} for ${field}: ${text.slice(0, 300)}`).toBeLessThan(500);
        const { errors = [], data } = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }>; data?: Record<string, { errors?: unknown[] }> };
        for (const error of errors) {
          const code = error.extensions?.code ?? 'none';
          codes.set(code, (codes.get(code) ?? 0) + 1);
          expect(code, `${field}: ${JSON.stringify(error)} for ${JSON.stringify(variables)}`).not.toBe('INTERNAL_SERVER_ERROR');
        }
        if (data?.[field]?.errors?.length) codes.set('payload', (codes.get('payload') ?? 0) + 1);
      }),
      { numRuns: RUNS * 4 },
    );
    // Inputs are refused as data and as GraphQL errors alike: the property saw both, not only one path.
    expect(codes.get('payload') ?? 0).toBeGreaterThan(0);
    expect(codes.get('BAD_USER_INPUT') ?? 0).toBeGreaterThan(0);
  });
});
