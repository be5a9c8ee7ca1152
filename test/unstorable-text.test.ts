/**
 * What PostgreSQL refuses (NUL, lone surrogates) arriving from outside: receivers' answers are
 * cleaned and each webhook is POSTed once; what clients send through GraphQL and every ingest
 * shape is refused with a 4xx (or an `errors` entry) naming the field. Real stack, real receiver.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SecretBox } from '../src/secret-box.ts';
import { storableText, unstorableText } from '../src/core/storable-text.ts';
import { connectClient } from '../src/infra/temporal.ts';
import { answerText } from '../src/modules/webhooks/http-attempt.ts';
import { insertDeliveries } from '../src/modules/webhooks/planning.ts';
import { recordAttempts } from '../src/modules/webhooks/recording.ts';
import { WebhookDelivery } from '../src/modules/webhooks/webhook-delivery.entity.ts';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver, type Reply } from './support/receiver.ts';

/** A 1×1 transparent GIF, as tracking-pixel receivers answer. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

let stack: TestStack;
let app: CreatedApp;
const receivers: Receiver[] = [];
beforeAll(async () => {
  stack = await startTestStack();
  app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'unstorable' })).data!.createApp;
});
afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.stop()));
  await stack?.stop();
});

const ATTEMPTS = /* GraphQL */ `
  query ($endpointId: ID!) {
    deliveries(endpointId: $endpointId) {
      edges {
        node {
          id
          status
          attemptCount
          attempts {
            statusCode
            responseBody
            responseHeaders {
              name
              value
            }
            error
          }
        }
      }
    }
  }
`;

describe('the cleaning and the check, pure', () => {
  it('storableText replaces NUL and lone surrogates with U+FFFD and leaves good text as it is', () => {
    expect(storableText('a\u0000b')).toBe('a\uFFFDb');
    expect(storableText('x\ud800y\udc00')).toBe('x\uFFFDy\uFFFD');
    expect(storableText('caf\u00e9 😀')).toBe('caf\u00e9 😀');
  });

  it('unstorableText names the first bad string by its path, keys included', () => {
    expect(unstorableText({ a: 'ok', b: [{ c: 'x\u0000' }] })).toEqual({ path: 'b.0.c', message: expect.stringContaining('NUL') });
    expect(unstorableText({ ['k\ud800']: 1 })).toEqual({ path: 'k\uFFFD', message: expect.stringContaining('lone surrogate') });
    expect(unstorableText({ a: new Date(), b: 1, c: null, d: 'fine' })).toBeNull();
  });

  it('a binary answer is described; invalid UTF-8 shows as U+FFFD', () => {
    expect(answerText(GIF, 'image/gif')).toBe(`(a binary answer of ${GIF.length} bytes, image/gif; not shown)`);
    expect(answerText(Buffer.from([0x6f, 0x6b, 0xff, 0xfe]), 'text/plain')).toBe('ok\uFFFD\uFFFD');
  });
});

describe('a receiver whose answer PostgreSQL cannot store as it is', () => {
  const answers: Array<[string, Reply, (body: string) => void]> = [
    [
      'a NUL byte in a 200',
      { status: 200, body: 'ok\u0000', headers: { 'content-type': 'text/plain' } },
      (body) => expect(body).toContain('binary answer of 3 bytes'),
    ],
    ['invalid UTF-8', { status: 200, body: Buffer.from([0x6f, 0x6b, 0xc3, 0x28, 0xff]) }, (body) => expect(body).toBe('ok\uFFFD(\uFFFD')],
    ['a 1×1 gif', { status: 200, body: GIF, headers: { 'content-type': 'image/gif' } }, (body) => expect(body).toContain('image/gif')],
  ];

  it.each(answers)('%s: each webhook is POSTed once, delivered, and its attempt is in the log', async (_name, reply, checkBody) => {
    const hook = new Receiver().always(reply);
    receivers.push(await hook.start());
    const created = await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, eventTypes: ['trial.started', 'trial.segment_changed'] } });
    const endpoint = created.data.createWebhookEndpoint.endpoint;
    const userId = `answer-${receivers.length}`;
    expect((await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } })).data.startTrial.errors).toEqual([]);

    const deliveries = await eventually(async () => {
      const edges = (await stack.gql(ATTEMPTS, { endpointId: endpoint.id })).data.deliveries.edges;
      return edges.length === 2 && edges.every((edge: { node: { status: string } }) => edge.node.status === 'delivered') ? edges : undefined;
    }, 15_000);
    // Long enough for a failed recording's retry (the old fault re-POSTed within a second or two).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const ids = hook.requests.filter((request) => JSON.parse(request.body).trial?.user_id === userId).map((request) => request.headers['webhook-id']);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    for (const { node } of deliveries) {
      expect(node.attemptCount).toBe(1);
      expect(node.attempts).toHaveLength(1);
      expect(node.attempts[0]).toMatchObject({ statusCode: 200, error: null });
      checkBody(node.attempts[0].responseBody);
    }
    await stack.gql(`mutation($id: ID!) { deleteWebhookEndpoint(input: { endpointId: $id }) { errors { code } } }`, { id: endpoint.id });
  });

  it('sendTestWebhook to such a receiver answers with the attempt, not a 500', async () => {
    const hook = new Receiver().always({ status: 200, body: GIF, headers: { 'content-type': 'image/gif' } });
    receivers.push(await hook.start());
    const created = await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, eventTypes: ['webhook.test'] } });
    const endpointId = created.data.createWebhookEndpoint.endpoint.id;
    const tested = await stack.gql(
      `mutation($e: ID!) { sendTestWebhook(endpointId: $e) { attempt { statusCode responseBody } errors { field message code } } }`,
      { e: endpointId },
    );
    expect(tested.errors).toBeUndefined();
    expect(tested.data.sendTestWebhook).toEqual({ attempt: { statusCode: 200, responseBody: expect.stringContaining('binary answer') }, errors: [] });
    expect(hook.requests).toHaveLength(1);
    await stack.gql(`mutation($id: ID!) { deleteWebhookEndpoint(input: { endpointId: $id }) { errors { code } } }`, { id: endpointId });
  });

  it('an answer that still cannot be stored is recorded without it: the outcome is kept, so nothing is POSTed again', async () => {
    const created = await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: 'http://127.0.0.1:9/unused' } });
    const endpointId = created.data.createWebhookEndpoint.endpoint.id;
    const em = stack.runtime.orm.em.fork();
    await insertDeliveries(em, [{ id: 'msg_unrecordable', endpointId, eventType: 'webhook.test', body: '{}' }]);
    const delivery = await em.findOneOrFail(WebhookDelivery, { id: 'msg_unrecordable' }, { populate: ['endpoint'] });
    const temporal = await connectClient(inject('temporalAddress'), 'default');
    try {
      // As an answer read before this fix was: PostgreSQL refuses \u0000 in jsonb and text.
      const result = { statusCode: 200, headers: { 'x-odd': 'a\u0000' }, body: 'GIF89a\u0000\u0001', durationMs: 3, error: null };
      const [outcome] = await recordAttempts(
        {
          orm: stack.runtime.orm,
          temporal,
          taskQueue: stack.config.temporalTaskQueue,
          allowPrivate: true,
          secrets: new SecretBox(randomBytes(32)),
          publicUrl: null,
        },
        em,
        [{ delivery, attemptedAt: new Date(), result }],
      );
      expect(outcome!.outcome).toBe('delivered');
    } finally {
      await temporal.connection.close();
    }
    const [row] = await stack.sql(`select status, attempt_count from webhook_deliveries where id = 'msg_unrecordable'`);
    expect(row).toEqual({ status: 'delivered', attempt_count: 1 });
    const [attempt] = await stack.sql(
      `select status_code, response_body, response_headers, error from delivery_attempts where delivery_id = 'msg_unrecordable'`,
    );
    expect(attempt).toEqual({
      status_code: 200,
      response_body: null,
      response_headers: {},
      error: expect.stringMatching(/^the answer could not be recorded \(PostgreSQL \w+\); only its status is kept$/),
    });
  });
});

describe('GraphQL inputs holding NUL or a lone surrogate', () => {
  it.each([
    ['userId', { userId: 'u\u0000x' }],
    ['email', { userId: 'nul-email', email: 'a\u0000@example.com' }],
    ['userId', { userId: 'surrogate\ud800' }],
  ])('startTrial refuses %s by name, as data', async (field, input) => {
    const result = await stack.gql(START_TRIAL, { input: { appId: app.app.id, trialEnd: '2099-01-01T00:00:00Z', ...input } });
    expect(result.errors).toBeUndefined();
    expect(result.data.startTrial.errors).toEqual([{ field, message: expect.stringMatching(/NUL|surrogate/), code: 'INVALID' }]);
    expect(await stack.count(`select count(*) as n from trials where app_id = $1 and user_id like 'u%x'`, [app.app.id])).toBe(0);
  });

  it('a nested input field is named by its path (an endpoint header)', async () => {
    const result = await stack.gql(CREATE_ENDPOINT, {
      input: { appId: app.app.id, url: 'https://example.com/h', headers: [{ name: 'X-Key', value: 'a\u0000b' }] },
    });
    expect(result.data.createWebhookEndpoint.errors).toEqual([{ field: 'headers.0.value', message: expect.stringContaining('NUL'), code: 'INVALID' }]);
  });

  it('a string literal in the document is checked like a variable', async () => {
    const result = await stack.gql(`mutation { createApp(input: { name: "bad\\u0000name" }) { app { id } errors { field code } } }`);
    expect(result.data.createApp).toEqual({ app: null, errors: [{ field: 'name', code: 'INVALID' }] });
  });

  it('a query answers BAD_USER_INPUT naming the argument', async () => {
    const result = await stack.gql(`query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { id } }`, { a: app.app.id, u: 'x\u0000' });
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', fieldErrors: [{ field: 'userId' }] } });
  });

  it('a subscription over graphql-ws is refused naming the argument', async () => {
    const feed = collect(stack.ws(), `subscription($a: ID!, $s: String) { segmentChanged(appId: $a, since: $s) { id } }`, { a: app.app.id, s: '2026\u0000' });
    await expect(feed.next(1, 5000)).rejects.toThrow(/since/);
    feed.dispose();
  });
});

describe('ingest shapes holding NUL or a lone surrogate', () => {
  const basic = () => `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: basic() }) =>
    fetch(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it.each([
    ['/v1/track', { userId: 'u1', event: 'E', properties: { plan: 'pro\u0000' } }, 'properties.plan'],
    ['/v1/identify', { userId: 'u1', traits: { email: 'a\ud800' } }, 'traits.email'],
    ['/v1/group', { userId: 'u1', groupId: 'g1', traits: { ['na\u0000me']: 'x' } }, 'traits.na'],
    ['/v1/track', { userId: 'u\u0000', event: 'E' }, 'userId'],
  ])('%s answers 400 naming the field', async (path, body, field) => {
    const response = await post(path, body);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain(field);
  });

  it('a batch refuses the bad message by index and field and stores the good one', async () => {
    const response = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'batch-good', event: 'E', messageId: 'nul-good' },
        { type: 'track', userId: 'batch-bad', event: 'E', context: { page: { title: 'a\u0000' } } },
      ],
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1, error: expect.stringContaining('context.page.title') }] });
  });

  it('the Segment Webhooks receiver and the server-to-server route answer 400 naming the field', async () => {
    const hook = await post(`/hooks/segment/${app.writeKey}`, { type: 'track', userId: 'h1', event: 'E', properties: { a: '\u0000' } }, {});
    expect(hook.status).toBe(400);
    expect(JSON.stringify(await hook.json())).toContain('properties.a');
    const s2s = await post(
      `/api/v1/s2s/event?token=${app.writeKey}.${app.serverToken}`,
      { api_key: app.writeKey, event_type: 'E', user: { id: 's1', email: 'x\u0000' } },
      {},
    );
    expect(s2s.status).toBe(400);
    expect(JSON.stringify(await s2s.json())).toContain('traits.email');
  });
});
