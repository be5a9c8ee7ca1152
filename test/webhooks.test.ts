/**
 * Signed, durable webhook delivery against a real receiver on loopback and the real Temporal.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { loadSecretBox } from '../src/secret-box.ts';
import { sealPlainSigningSecrets } from '../src/modules/webhooks/signing-secrets.ts';
import { pendingDeliveriesOfChange } from '../src/modules/webhooks/pending-deliveries.ts';
import { WebhookDelivery } from '../src/modules/webhooks/webhook-delivery.entity.ts';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { connectClient } from '../src/infra/temporal.ts';
import { createActivities } from '../src/temporal/activities.ts';
import { freePort } from '../src/infra/net.ts';
import { isForbiddenAddress } from '../src/modules/webhooks/ssrf.ts';
import { sign } from '../src/modules/webhooks/signing.ts';
import { classify, delayBefore, retryAfterMs } from '../src/core/retry-policy.ts';
import { healthAfterAttempt } from '../src/modules/webhooks/endpoint-health.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CONVERT_TRIAL, CREATE_APP, CREATE_ENDPOINT, START_TRIAL, TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

let stack: TestStack;
const receivers: Receiver[] = [];
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.stop()));
  await stack?.stop();
});

const DELIVERIES = /* GraphQL */ `
  query Deliveries($endpointId: ID!, $status: DeliveryStatus, $first: Int, $after: String) {
    deliveries(endpointId: $endpointId, status: $status, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          eventType
          status
          attemptCount
          payload
          attempts {
            statusCode
            durationMs
            error
            responseBody
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

async function receiver(): Promise<Receiver> {
  const created = await new Receiver().start();
  receivers.push(created);
  return created;
}

async function appWithEndpoint(url: string, extra: Record<string, unknown> = {}) {
  const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'hooks' })).data!.createApp;
  const created = await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url, ...extra } });
  expect(created.data.createWebhookEndpoint.errors).toEqual([]);
  return { app, endpoint: created.data.createWebhookEndpoint.endpoint as { id: string; secret: string } };
}

async function startTrial(app: CreatedApp, userId: string, extra: Record<string, unknown> = {}) {
  const result = await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z', ...extra } });
  expect(result.data.startTrial.errors).toEqual([]);
}

describe('delivery', () => {
  it('sends the contract body, signed per Standard Webhooks (verified with the standardwebhooks library), and records the attempt', async () => {
    const hook = await receiver();
    const { app, endpoint } = await appWithEndpoint(hook.url, { headers: [{ name: 'X-Api-Secret', value: 's3' }] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    await startTrial(app, 'usr_8a3f4b', { email: 'alex@example.com', stripeCustomerId: 'cus_Abc123', trialStart: '2025-02-14T00:00:00Z' });

    const [request] = await hook.waitFor(1);
    const payload = new Webhook(endpoint.secret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    });
    expect(payload).toMatchObject({
      event: 'trial.segment_changed',
      app_id: app.app.id,
      trial: {
        user_id: 'usr_8a3f4b',
        email: 'alex@example.com',
        stripe_customer_id: 'cus_Abc123',
        trial_start: '2025-02-14T00:00:00.000Z',
        trial_end: '2099-01-01T00:00:00.000Z',
      },
      old_segment: null,
      new_segment: 'exploring',
      reason: 'trial_started',
      sequence: 1,
    });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toMatch(/^Trialcast\//);
    expect(request!.headers['x-api-secret']).toBe('s3');

    const deliveries = await eventually(async () => {
      const { data } = await stack.gql(DELIVERIES, { endpointId: endpoint.id });
      const node = data.deliveries.edges[0]?.node;
      return node?.status === 'delivered' ? data.deliveries.edges : undefined;
    });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].node).toMatchObject({ id: request!.headers['webhook-id'], eventType: 'trial.segment_changed', attemptCount: 1 });
    expect(deliveries[0].node.attempts).toEqual([{ statusCode: 200, durationMs: expect.any(Number), error: null, responseBody: 'answered 200' }]);
  });

  it('500 three times then 200: four attempts recorded, one success, one webhook-id', async () => {
    const hook = (await receiver()).script({ status: 500 }, { status: 500 }, { status: 503, headers: { 'retry-after': '1' } });
    const { app, endpoint } = await appWithEndpoint(hook.url, { retrySchedule: ['PT0S', 'PT0.5S', 'PT0.5S', 'PT0.5S', 'PT0.5S'] });
    await startTrial(app, 'flaky');
    const requests = await hook.waitFor(4);
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    // Retry-After: 1 s was honoured over the 0.5 s schedule.
    expect(requests[3]!.at - requests[2]!.at).toBeGreaterThanOrEqual(950);
    const node = await eventually(async () => {
      const { data } = await stack.gql(DELIVERIES, { endpointId: endpoint.id });
      const first = data.deliveries.edges[0]?.node;
      return first?.status === 'delivered' ? first : undefined;
    });
    expect(node.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 500, 503, 200]);
  });

  it('429 with Retry-After: 3 waits at least 3 s before the next attempt, over a shorter schedule', async () => {
    const hook = (await receiver()).script({ status: 429, headers: { 'retry-after': '3' } });
    const { app } = await appWithEndpoint(hook.url, { retrySchedule: ['PT0S', 'PT0.2S', 'PT10S'] });
    await startTrial(app, 'throttled');
    const [first, second] = await hook.waitFor(2, 20_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2950);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
  });

  it('a throttle of 5/s spreads 50 moves: no second holds more than 5 requests, each trial in order, every one delivered at its first attempt', async () => {
    const hook = await receiver();
    const { app, endpoint } = await appWithEndpoint(hook.url, { maxPerSecond: 5 });
    const users = Array.from({ length: 25 }, (_, index) => `burst-${index}`);
    await Promise.all(users.map((userId) => startTrial(app, userId)));
    await Promise.all(
      users.map(async (userId) => expect((await stack.gql(CONVERT_TRIAL, { input: { appId: app.app.id, userId } })).data.convertTrial.errors).toEqual([])),
    );
    const requests = await hook.waitFor(50, 60_000);
    const perSecond = new Map<number, number>();
    for (const { at } of requests) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(5);
    // Spread, not merely slowed: 50 at 5 a second take at least 9 s from the first to the last.
    expect(requests.at(-1)!.at - requests[0]!.at).toBeGreaterThanOrEqual(9000);
    const moves = requests.map(({ body }) => JSON.parse(body) as { trial: { user_id: string }; new_segment: string });
    for (const userId of users)
      expect(moves.filter((move) => move.trial.user_id === userId).map((move) => move.new_segment)).toEqual(['exploring', 'converted']);
    // Held back, not failed: one attempt a delivery.
    const { data } = await stack.gql(DELIVERIES, { endpointId: endpoint.id, first: 100 });
    expect(data.deliveries.edges.map(({ node }: { node: { status: string; attemptCount: number } }) => [node.status, node.attemptCount])).toEqual(
      Array.from({ length: 50 }, () => ['delivered', 1]),
    );
  });

  it("/metrics says webhooks are backing up: pending deliveries being retried, the oldest one's age, a failing endpoint", async () => {
    const hook = (await receiver()).script(...Array.from({ length: 20 }, () => ({ status: 503 })));
    const { app } = await appWithEndpoint(hook.url, { retrySchedule: ['PT0S', 'PT1M'] });
    await startTrial(app, 'backlogged');
    await hook.waitFor(1);
    const gauge = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const text = await eventually(async () => {
      const scraped = await (await fetch(`${stack.url}/metrics`)).text();
      return gauge(scraped, 'trialcast_webhook_deliveries_pending{state="retrying"}') >= 1 ? scraped : undefined;
    });
    expect(gauge(text, 'trialcast_webhook_oldest_pending_delivery_seconds')).toBeGreaterThan(0);
    expect(gauge(text, 'trialcast_webhook_endpoints{health="failing"}')).toBeGreaterThanOrEqual(1);
    expect(gauge(text, 'trialcast_webhook_endpoints{health="healthy"}')).toBeGreaterThanOrEqual(0);
  });

  it('receiver down, then up: delivered once it is up, with the same webhook-id', async () => {
    const port = await freePort();
    const { app, endpoint } = await appWithEndpoint(`http://127.0.0.1:${port}/hooks`, { retrySchedule: ['PT0S', 'PT1S', 'PT1S', 'PT1S', 'PT1S', 'PT1S'] });
    await startTrial(app, 'offline');
    await eventually(async () => {
      const { data } = await stack.gql(DELIVERIES, { endpointId: endpoint.id });
      return data.deliveries.edges[0]?.node.attemptCount >= 2 ? true : undefined;
    });
    const hook = await new Receiver().start(port);
    receivers.push(hook);
    const [request] = await hook.waitFor(1);
    const { data } = await stack.gql(DELIVERIES, { endpointId: endpoint.id });
    const node = data.deliveries.edges[0].node;
    expect(request!.headers['webhook-id']).toBe(node.id);
    await eventually(async () =>
      (await stack.gql(DELIVERIES, { endpointId: endpoint.id })).data.deliveries.edges[0].node.status === 'delivered' ? true : undefined,
    );
    const attempts = (await stack.gql(DELIVERIES, { endpointId: endpoint.id })).data.deliveries.edges[0].node.attempts;
    expect(attempts.at(-1).statusCode).toBe(200);
    expect(attempts.slice(0, -1).every((attempt: { statusCode: null; error: string }) => attempt.statusCode === null && attempt.error === 'ECONNREFUSED')).toBe(
      true,
    );
  });

  it('a slow receiver times out and is retried', async () => {
    const hook = (await receiver()).script({ status: 200, delayMs: 2500 });
    const { app, endpoint } = await appWithEndpoint(hook.url, { timeoutMs: 1000, retrySchedule: ['PT0S', 'PT0.5S', 'PT0.5S'] });
    await startTrial(app, 'slow');
    await hook.waitFor(2);
    const node = await eventually(async () => {
      const first = (await stack.gql(DELIVERIES, { endpointId: endpoint.id })).data.deliveries.edges[0]?.node;
      return first?.status === 'delivered' ? first : undefined;
    });
    expect(node.attempts[0]).toMatchObject({ statusCode: null, error: 'timed out after 1000 ms' });
    expect(node.attempts[0].durationMs).toBeGreaterThanOrEqual(1000);
  });

  it('4xx is final; 410 Gone disables the endpoint at once', async () => {
    const bad = (await receiver()).script({ status: 400 });
    const first = await appWithEndpoint(bad.url, { retrySchedule: ['PT0S', 'PT0.5S'] });
    await startTrial(first.app, 'refused');
    const node = await eventually(async () => {
      const edge = (await stack.gql(DELIVERIES, { endpointId: first.endpoint.id })).data.deliveries.edges[0];
      return edge?.node.status === 'failed' ? edge.node : undefined;
    });
    expect(node.attemptCount).toBe(1);

    const gone = (await receiver()).script({ status: 410 });
    const second = await appWithEndpoint(gone.url);
    await startTrial(second.app, 'gone');
    await eventually(async () => {
      const { data } = await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { enabled disabledReason } }`, { a: second.app.app.id });
      return data.webhookEndpoints[0].enabled === false ? data.webhookEndpoints[0] : undefined;
    });
  });

  it('an endpoint gets only the event types it asked for', async () => {
    const hook = await receiver();
    const { app } = await appWithEndpoint(hook.url, { eventTypes: ['trial.started', 'trial.segment_entered'] });
    await startTrial(app, 'filtered');
    const requests = await hook.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.requests.map((request) => JSON.parse(request.body).event).sort()).toEqual(['trial.segment_entered', 'trial.started']);
    expect(JSON.parse(requests.find((r) => JSON.parse(r.body).event === 'trial.segment_entered')!.body).segment).toBe('exploring');
  });
});

describe('cost', () => {
  // The stack's own key: endpoints' signing secrets are sealed with it.
  const activitiesOf = async (temporal: Client) =>
    createActivities({
      orm: stack.runtime.orm,
      temporal,
      taskQueue: stack.config.temporalTaskQueue,
      webhookAllowPrivateTargets: true,
      deliveryRetention: 'P30D',
      eventRetention: 'P180D',
      secrets: await loadSecretBox(stack.config.secretKey, stack.config.dataDir),
      publicUrl: null,
    });

  /** Every statement this process sends while `run` runs, whichever way it is built: each goes through pg's Client.query. */
  const statementsDuring = async (run: () => Promise<unknown>) => {
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await run();
      return spy.mock.calls.map(([config]) => config);
    } finally {
      spy.mockRestore();
    }
  };

  /** An app with `endpoints` endpoints taking every event, and one trial whose first segment's webhooks were all delivered. */
  const trialWithEndpoints = async (name: string, endpoints: number, hookUrl: string) => {
    const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;
    for (let index = 0; index < endpoints; index++)
      await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: `${hookUrl}/${index}`, eventTypes: ['*'] } });
    await startTrial(app, name);
    const trial = (await stack.gql(TRIAL, { appId: app.app.id, userId: name })).data.trial;
    // Nothing else of this process touches the database once the first segment's webhooks are recorded.
    await eventually(async () =>
      (await stack.count(
        `select count(*) as n from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 and d.status = 'delivered'`,
        [app.app.id],
      )) ===
      endpoints * 3
        ? true
        : undefined,
    );
    return { appId: app.app.id as string, trialId: trial.id as string };
  };

  const ahaChange = (id: string, appId: string, trialId: string) => ({
    id,
    appId,
    trialId,
    sequence: 2,
    oldSegment: 'exploring',
    newSegment: 'found_value',
    reason: 'aha_event_received',
    occurredAt: new Date().toISOString(),
    firstAttemptsByWorkflow: true,
  });

  it('records a transition in two prepared SQL statements (the trial and its endpoints read, then one write), for 30 deliveries (10 endpoints × 3 event types) as for 3', async () => {
    const temporal = await connectClient(inject('temporalAddress'), 'default');
    const activities = await activitiesOf(temporal);
    const hook = await receiver();
    const statementsToRecord = async (endpoints: number) => {
      const { appId, trialId } = await trialWithEndpoints(`cost-${endpoints}`, endpoints, hook.url);
      const change = ahaChange(`sgc_cost${endpoints}`, appId, trialId);
      const sent = await statementsDuring(async () =>
        expect(await activities.recordSegmentChange(change)).toEqual({ id: change.id, newSegment: 'found_value' }),
      );
      expect(await stack.count(`select count(*) as n from webhook_deliveries where segment_change_id = $1`, [change.id])).toBe(endpoints * 3);
      // Sent by name: PostgreSQL parses and plans each text once per connection.
      expect(sent.filter((config) => typeof config !== 'object' || config === null || !('name' in config))).toEqual([]);
      return sent.length;
    };
    try {
      const forOne = await statementsToRecord(1);
      expect(forOne).toBe(2);
      expect(await statementsToRecord(10)).toBe(forOne);
    } finally {
      await temporal.connection.close();
    }
  });

  it("sends a change's first attempts from what its recording returned, in one statement more (their recording); another worker, or a second try, reads them", async () => {
    const temporal = await connectClient(inject('temporalAddress'), 'default');
    const hook = await receiver();
    const delivered = (changeId: string) =>
      stack.count(`select count(*) as n from webhook_deliveries where segment_change_id = $1 and status = 'delivered' and attempt_count = 1`, [changeId]);
    try {
      const recording = await activitiesOf(temporal);
      const handed = await trialWithEndpoints('handover', 2, hook.url);
      const change = ahaChange('sgc_handover', handed.appId, handed.trialId);
      await recording.recordSegmentChange(change);
      const sent = await statementsDuring(() => recording.sendFirstAttempts(change.id));
      expect(sent).toHaveLength(1);
      expect(await delivered(change.id)).toBe(6);
      // Taken once: a second try reads the deliveries, finds none pending, and sends nothing again.
      expect(await statementsDuring(() => recording.sendFirstAttempts(change.id))).toHaveLength(1);
      expect(await delivered(change.id)).toBe(6);

      // Recorded by one worker, sent by another (the first one gone in between): read, then sent.
      const read = await trialWithEndpoints('read-back', 2, hook.url);
      const other = ahaChange('sgc_read_back', read.appId, read.trialId);
      await recording.recordSegmentChange(other);
      expect(await statementsDuring(async () => (await activitiesOf(temporal)).sendFirstAttempts(other.id))).toHaveLength(2);
      expect(await delivered(other.id)).toBe(6);
    } finally {
      await temporal.connection.close();
    }
  });

  it("reads a change's pending deliveries as plain objects holding what their entities hold, one endpoint object for its deliveries", async () => {
    const temporal = await connectClient(inject('temporalAddress'), 'default');
    const hook = await receiver();
    try {
      const { appId, trialId } = await trialWithEndpoints('plain-rows', 2, hook.url);
      // Every nullable column of one endpoint set, so each one's mapping is compared with a value.
      await stack.sql(
        `update webhook_endpoints set description = 'crm', segments = '["found_value"]', previous_secret = secret,
                previous_secret_expires_at = now() + interval '1 day', failing_since = now() - interval '1 hour', max_per_second = 50,
                disabled_reason = 'none', destination = null, headers = '{"x-team":"growth"}'
          where id = (select min(id) from webhook_endpoints where app_id = $1)`,
        [appId],
      );
      const change = ahaChange('sgc_plain_rows', appId, trialId);
      await (await activitiesOf(temporal)).recordSegmentChange(change);
      const pending = await pendingDeliveriesOfChange(stack.runtime.orm.em.fork(), change.id);
      const entities = await stack.runtime.orm.em.fork().find(WebhookDelivery, { segmentChangeId: change.id }, { populate: ['endpoint'] });
      expect(pending).toHaveLength(6);
      expect(pending.map(({ delivery }) => delivery.id).sort()).toEqual(entities.map((delivery) => delivery.id).sort());
      for (const { delivery } of pending) {
        const entity = entities.find((candidate) => candidate.id === delivery.id)!;
        const { endpoint, ...fields } = delivery;
        for (const [key, value] of Object.entries(fields)) expect([key, value]).toEqual([key, entity[key as keyof typeof entity]]);
        const { app, ...endpointFields } = endpoint;
        expect(app.id).toBe(appId);
        for (const [key, value] of Object.entries(endpointFields)) expect([key, value]).toEqual([key, entity.endpoint[key as keyof typeof entity.endpoint]]);
        // An attempt's health change reaches the endpoint's next delivery of the change.
        expect(pending.filter((other) => other.delivery.endpoint.id === endpoint.id).every((other) => other.delivery.endpoint === endpoint)).toBe(true);
      }
    } finally {
      await temporal.connection.close();
    }
  });
});

describe('tester, rotation, redelivery and paging', () => {
  it('sendTestWebhook answers with the attempt; after a rotation both secrets sign; redeliver resends with the same webhook-id', async () => {
    const hook = await receiver();
    const { app, endpoint } = await appWithEndpoint(hook.url);
    const tested = await stack.gql(
      `mutation($e: ID!) { sendTestWebhook(endpointId: $e) { attempt { statusCode durationMs responseBody } errors { message } } }`,
      { e: endpoint.id },
    );
    expect(tested.data.sendTestWebhook).toEqual({ attempt: { statusCode: 200, durationMs: expect.any(Number), responseBody: 'answered 200' }, errors: [] });
    expect(JSON.parse(hook.requests[0]!.body).event).toBe('webhook.test');

    const before = await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { previousSecretExpiresAt } }`, { a: app.app.id });
    expect(before.data.webhookEndpoints).toEqual([{ previousSecretExpiresAt: null }]);
    const rotated = await stack.gql(`mutation($e: ID!) { rotateWebhookSecret(endpointId: $e) { endpoint { secret previousSecretExpiresAt } } }`, {
      e: endpoint.id,
    });
    const newSecret = rotated.data.rotateWebhookSecret.endpoint.secret;
    expect(newSecret).not.toBe(endpoint.secret);
    // The overlap is shown: the old secret signs beside the new one for 24 hours.
    const overlapMs = Date.parse(rotated.data.rotateWebhookSecret.endpoint.previousSecretExpiresAt) - Date.now();
    expect(overlapMs).toBeGreaterThan(23.9 * 3600_000);
    expect(overlapMs).toBeLessThanOrEqual(24 * 3600_000);
    await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { message } } }`, { e: endpoint.id });
    const [, afterRotation] = await hook.waitFor(2);
    const headers = {
      'webhook-id': String(afterRotation!.headers['webhook-id']),
      'webhook-timestamp': String(afterRotation!.headers['webhook-timestamp']),
      'webhook-signature': String(afterRotation!.headers['webhook-signature']),
    };
    expect(() => new Webhook(newSecret).verify(afterRotation!.body, headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(afterRotation!.body, headers)).not.toThrow();
    // At rest both are sealed with the server's key: the database alone holds neither.
    const box = await loadSecretBox(stack.config.secretKey, stack.config.dataDir);
    const [stored] = await stack.sql<{ secret: string; previous_secret: string }>(`select secret, previous_secret from webhook_endpoints where id = $1`, [
      endpoint.id,
    ]);
    expect(JSON.stringify(stored)).not.toMatch(/whsec_/);
    expect([box.open(stored!.secret), box.open(stored!.previous_secret)]).toEqual([newSecret, endpoint.secret]);

    const { data } = await stack.gql(DELIVERIES, { endpointId: endpoint.id, first: 1 });
    expect(data.deliveries.pageInfo.hasNextPage).toBe(true);
    const next = await stack.gql(DELIVERIES, { endpointId: endpoint.id, first: 1, after: data.deliveries.pageInfo.endCursor });
    expect(next.data.deliveries.edges[0].node.id).not.toBe(data.deliveries.edges[0].node.id);
    expect(next.data.deliveries.pageInfo.hasNextPage).toBe(false);

    const deliveryId = data.deliveries.edges[0].node.id;
    const redelivered = await stack.gql(`mutation($d: ID!) { redeliver(deliveryId: $d) { delivery { id status } errors { message } } }`, { d: deliveryId });
    expect(redelivered.data.redeliver.errors).toEqual([]);
    const [, , resent] = await hook.waitFor(3);
    expect(resent!.headers['webhook-id']).toBe(deliveryId);
  });
});

describe('signing secrets stored before sealing', () => {
  it('are sealed when a process starts (once, however many start), shown and used as before', async () => {
    const hook = await receiver();
    const { endpoint } = await appWithEndpoint(hook.url);
    const legacy = `whsec_${randomBytes(24).toString('base64')}`;
    await stack.sql(`update webhook_endpoints set secret = $2, previous_secret = null where id = $1`, [endpoint.id, legacy]);
    const shown = async () => (await stack.gql(`query($e: ID!) { node(id: $e) { ... on WebhookEndpoint { secret } } }`, { e: endpoint.id })).data.node.secret;
    // Until it is sealed (a process of the earlier version still running), the stored value is the secret.
    expect(await shown()).toBe(legacy);

    const box = await loadSecretBox(stack.config.secretKey, stack.config.dataDir);
    expect(await Promise.all([sealPlainSigningSecrets(stack.runtime.orm, box), sealPlainSigningSecrets(stack.runtime.orm, box)])).toSatisfy(
      (counts: number[]) => counts.sort().join() === '0,1',
    );
    const [stored] = await stack.sql<{ secret: string }>(`select secret from webhook_endpoints where id = $1`, [endpoint.id]);
    expect(stored!.secret).not.toContain('whsec_');
    expect(box.open(stored!.secret)).toBe(legacy);
    expect(await shown()).toBe(legacy);
    expect(await sealPlainSigningSecrets(stack.runtime.orm, box)).toBe(0);

    await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { message } } }`, { e: endpoint.id });
    const [request] = await hook.waitFor(1);
    expect(() =>
      new Webhook(legacy).verify(request!.body, {
        'webhook-id': String(request!.headers['webhook-id']),
        'webhook-timestamp': String(request!.headers['webhook-timestamp']),
        'webhook-signature': String(request!.headers['webhook-signature']),
      }),
    ).not.toThrow();
  });
});

describe('SSRF', () => {
  it('refuses endpoints on our own network unless WEBHOOK_ALLOW_PRIVATE_TARGETS', async () => {
    const strict = await startTestStack({ config: { webhookAllowPrivateTargets: false } });
    try {
      const app = (await strict.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'strict' })).data!.createApp;
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://localhost/x',
        'http://10.1.2.3/',
        'http://169.254.169.254/latest/meta-data',
        'http://[::1]/',
        'http://2130706433/',
        'http://0177.0.0.1/',
        'http://[::ffff:192.168.0.1]/',
        'ftp://example.com/',
        // IPv6 forms that carry a refused IPv4 address, and deprecated site-local
        'http://[::7f00:1]/',
        'http://[::127.0.0.1]/',
        'http://[2002:7f00:1::]/',
        'http://[2002:a9fe:a9fe::1]/',
        'http://[64:ff9b::7f00:1]/',
        'http://[fec0::1]/',
        'http://[::ffff:7f00:1]/',
      ]) {
        const result = await strict.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url } });
        expect(result.data.createWebhookEndpoint.errors[0], url).toMatchObject({ field: 'url', code: 'INVALID_URL' });
      }
      // Control characters are refused, not silently dropped by the URL parser; here with a public address.
      for (const url of ['https://93.184.215.14/a\nb', 'https://93.184.215.14/\r\nX-Injected: 1', 'https://exa\tmple.com/']) {
        const result = await strict.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url } });
        expect(result.data.createWebhookEndpoint.errors[0], JSON.stringify(url)).toMatchObject({
          field: 'url',
          code: 'INVALID_URL',
          message: expect.stringMatching(/control characters/),
        });
      }
      // NUL is refused, like in every GraphQL input, before the URL's own checks.
      expect(
        (await strict.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: 'https://93.184.215.14/\u0000' } })).data.createWebhookEndpoint.errors,
      ).toEqual([{ field: 'url', code: 'INVALID', message: expect.stringMatching(/NUL/) }]);
      // And at every attempt: a URL that got into the table another way is refused before any connection.
      const saved = (await strict.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: 'https://93.184.215.14/hook' } })).data.createWebhookEndpoint
        .endpoint;
      for (const url of ['http://[::7f00:1]:9/x', 'http://[2002:7f00:1::]:9/x', 'https://93.184.215.14/a\nb']) {
        await strict.sql('update webhook_endpoints set url = $1 where id = $2', [url, saved.id]);
        const tested = await strict.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { attempt { statusCode error } errors { code } } }`, {
          e: saved.id,
        });
        expect(tested.data.sendTestWebhook.attempt, url).toMatchObject({
          statusCode: null,
          error: expect.stringMatching(/private, loopback|control characters/),
        });
      }
    } finally {
      await strict.stop();
    }
  });

  it.each([
    ['127.0.0.1', true],
    ['10.0.0.1', true],
    ['172.16.5.4', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['224.0.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fc00::1', true],
    ['fd12::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['8.8.8.8', false],
    ['2606:4700::1111', false],
    ['::7f00:1', true],
    ['::ffff:7f00:1', true],
    ['2002:7f00:1::', true],
    ['2002:0a00:0001::5', true],
    ['2002:0808:0808::1', false],
    ['64:ff9b::7f00:1', true],
    ['64:ff9b:1::1', true],
    ['fec0::1', true],
    ['2001:0:4136:e378::1', true],
    ['2001:db8::1', true],
  ])('isForbiddenAddress(%s) = %s', (address, expected) => expect(isForbiddenAddress(address)).toBe(expected));
});

describe('retry policy and signing (pure)', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [301, 'retry'],
    [400, 'final'],
    [401, 'final'],
    [404, 'final'],
    [408, 'retry'],
    [410, 'gone'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [null, 'retry'],
  ] as const)('status %s → %s', (status, outcome) => expect(classify(status)).toBe(outcome));

  it('follows the schedule with ±10 % jitter, honours a longer Retry-After up to the schedule end, and ends with the schedule', () => {
    const schedule = ['PT0S', 'PT5S', 'PT5M'];
    expect(delayBefore(2, schedule, 0, null)).toBe(4500);
    expect(delayBefore(2, schedule, 1, null)).toBe(5500);
    expect(delayBefore(2, schedule, 0.5, 60_000)).toBe(60_000);
    expect(delayBefore(3, schedule, 0.5, null)).toBe(300_000);
    expect(delayBefore(4, schedule, 0.5, null)).toBeNull();
    // A Retry-After past the schedule's end waits until that end, not longer (5 s + 5 min left before attempt 2).
    expect(delayBefore(2, schedule, 0.5, 86_400_000)).toBe(305_000);
    expect(delayBefore(3, schedule, 0.5, 86_400_000)).toBe(300_000);
    expect(retryAfterMs('120', 0)).toBe(120_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 0)).toBe(10_000);
    expect(retryAfterMs('soon', 0)).toBeNull();
  });

  it('endpoint health: a run of failures starts at the first failed attempt, a success ends it, 410 or a long run disables', () => {
    const at = new Date('2026-01-10T00:00:00Z');
    const healthy = { enabled: true, failingSince: null, disableAfter: 'P5D' };
    expect(healthAfterAttempt(healthy, 'trial.segment_changed', 'retry', at)).toEqual({ failingSince: at, disabledBecause: null });
    const failing = { ...healthy, failingSince: new Date('2026-01-06T00:00:00Z') };
    expect(healthAfterAttempt(failing, 'trial.segment_changed', 'retry', at)).toEqual({ failingSince: failing.failingSince, disabledBecause: null });
    expect(healthAfterAttempt({ ...failing, failingSince: new Date('2026-01-05T00:00:00Z') }, 'trial.segment_changed', 'final', at).disabledBecause).toBe(
      'every delivery failed for P5D (since 2026-01-05T00:00:00.000Z)',
    );
    expect(healthAfterAttempt(failing, 'trial.segment_changed', 'delivered', at)).toEqual({ failingSince: null, disabledBecause: null });
    expect(healthAfterAttempt(healthy, 'trial.segment_changed', 'gone', at).disabledBecause).toBe('the endpoint answered 410 Gone');
    // The tester's sends count neither way; a disabled endpoint is not disabled again.
    expect(healthAfterAttempt(failing, 'webhook.test', 'delivered', at).failingSince).toBe(failing.failingSince);
    expect(healthAfterAttempt({ ...healthy, enabled: false }, 'trial.segment_changed', 'gone', at).disabledBecause).toBeNull();
  });

  it('signatures match the standardwebhooks reference implementation', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const timestamp = new Date(1_700_000_000_000);
    expect(sign(secret, 'msg_1', 1_700_000_000, '{"a":1}')).toBe(new Webhook(secret).sign('msg_1', timestamp, '{"a":1}'));
  });
});
