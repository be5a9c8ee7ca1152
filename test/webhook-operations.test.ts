/**
 * Webhook operations against a real receiver and the real Temporal: per-trial order,
 * operational events, automatic disabling, replaying an outage, and the delivery filters
 * (retention: delivery-partitions.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver, type Reply } from './support/receiver.ts';

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
  query Deliveries($endpointId: ID!, $status: DeliveryStatus, $since: DateTime, $until: DateTime) {
    deliveries(endpointId: $endpointId, status: $status, since: $since, until: $until, first: 100) {
      edges {
        node {
          id
          eventType
          status
          attemptCount
          createdAt
        }
      }
    }
  }
`;
const ENDPOINTS = `query($a: ID!) { webhookEndpoints(appId: $a) { id enabled disabledReason failingSince } }`;

async function receiver(...script: Reply[]): Promise<Receiver> {
  const created = await new Receiver().script(...script).start();
  receivers.push(created);
  return created;
}
const failing = (times: number, status = 500): Reply[] => Array.from({ length: times }, () => ({ status }));

async function newApp(): Promise<CreatedApp> {
  return (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'webhook-ops' })).data!.createApp;
}
async function endpoint(app: CreatedApp, url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url, ...extra } });
  expect(created.data.createWebhookEndpoint.errors).toEqual([]);
  return created.data.createWebhookEndpoint.endpoint.id;
}
async function startTrial(app: CreatedApp, userId: string) {
  expect((await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } })).data.startTrial.errors).toEqual([]);
}
async function convert(app: CreatedApp, userId: string) {
  expect(
    (await stack.gql(`mutation($i: ConvertTrialInput!) { convertTrial(input: $i) { errors { message } } }`, { i: { appId: app.app.id, userId } })).data
      .convertTrial.errors,
  ).toEqual([]);
}
const sequences = (hook: Receiver) => hook.requests.map((request) => JSON.parse(request.body).sequence as number);
const events = (hook: Receiver) => hook.requests.map((request) => JSON.parse(request.body).event as string);

describe('order', () => {
  it("a trial's later change waits while an earlier one is retried, unless the endpoint opts out", async () => {
    const app = await newApp();
    const orderedHook = await receiver(...failing(2));
    const unorderedHook = await receiver(...failing(2));
    const schedule = ['PT0S', 'PT1S', 'PT1S', 'PT1S'];
    await endpoint(app, orderedHook.url, { retrySchedule: schedule });
    await endpoint(app, unorderedHook.url, { retrySchedule: schedule, ordered: false });
    await startTrial(app, 'in-order');
    await orderedHook.waitFor(1);
    await convert(app, 'in-order');

    await orderedHook.waitFor(4);
    await unorderedHook.waitFor(4);
    // Ordered: sequence 1 twice refused, then delivered, and only then sequence 2.
    expect(sequences(orderedHook)).toEqual([1, 1, 1, 2]);
    // Unordered: sequence 2 went out while sequence 1 was still waiting for its retry.
    expect(sequences(unorderedHook).indexOf(2)).toBeLessThan(sequences(unorderedHook).lastIndexOf(1));
  });
});

describe('operational events', () => {
  it('410 Gone: the endpoint is disabled, and the other endpoint and the subscription hear endpoint.disabled', async () => {
    const app = await newApp();
    const gone = await receiver({ status: 410 });
    const ops = await receiver();
    const goneId = await endpoint(app, gone.url);
    await endpoint(app, ops.url, { eventTypes: ['endpoint.disabled', 'delivery.failing', 'delivery.exhausted'] });
    const live = collect(stack.ws(), `subscription($a: ID!) { webhookOperationalEvents(appId: $a) { type endpointId deliveryId message } }`, { a: app.app.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await startTrial(app, 'gone-user');

    const [notice] = await ops.waitFor(1);
    const body = JSON.parse(notice!.body);
    expect(body).toMatchObject({
      event: 'endpoint.disabled',
      app_id: app.app.id,
      endpoint_id: goneId,
      url: gone.url,
      reason: 'the endpoint answered 410 Gone',
    });
    expect(notice!.headers['webhook-id']).toMatch(/^msg_/);
    const [event] = (await live.next(1)) as any[];
    expect(event!.webhookOperationalEvents).toMatchObject({ type: 'ENDPOINT_DISABLED', endpointId: goneId });
    const endpoints = (await stack.gql(ENDPOINTS, { a: app.app.id })).data.webhookEndpoints;
    expect(endpoints.find((e: { id: string }) => e.id === goneId)).toMatchObject({ enabled: false, disabledReason: 'the endpoint answered 410 Gone' });
    live.dispose();
  });

  it('delivery.failing after four failed attempts, delivery.exhausted when the schedule ends', async () => {
    const app = await newApp();
    const down = await receiver(...failing(20));
    const ops = await receiver();
    await endpoint(app, down.url, { retrySchedule: ['PT0S', 'PT0.2S', 'PT0.2S', 'PT0.2S', 'PT0.2S'] });
    await endpoint(app, ops.url, { eventTypes: ['*'] });
    await startTrial(app, 'doomed');

    await eventually(async () => (events(ops).includes('delivery.exhausted') ? true : undefined), 15_000);
    const operational = ops.requests.map((request) => JSON.parse(request.body)).filter((body) => body.event.startsWith('delivery.'));
    expect(operational.map((body) => body.event)).toEqual(['delivery.failing', 'delivery.exhausted']);
    expect(operational[0]).toMatchObject({ attempts: 4, last_status_code: 500, event_type: 'trial.segment_changed' });
    expect(operational[1]).toMatchObject({ attempts: 5 });
    expect(down.requests).toHaveLength(5);
  });

  it('an endpoint that fails every delivery for its disableAfter period is disabled', async () => {
    const app = await newApp();
    const down = await receiver(...failing(20));
    const ops = await receiver();
    const downId = await endpoint(app, down.url, { disableAfter: 'PT2S', retrySchedule: ['PT0S', 'PT1S', 'PT1S', 'PT1S', 'PT1S'] });
    await endpoint(app, ops.url, { eventTypes: ['endpoint.disabled'] });
    await startTrial(app, 'down-user');

    const disabled = await eventually(async () => {
      const found = (await stack.gql(ENDPOINTS, { a: app.app.id })).data.webhookEndpoints.find((e: { id: string }) => e.id === downId);
      return found.enabled ? undefined : found;
    }, 15_000);
    expect(disabled.disabledReason).toMatch(/^every delivery failed for PT2S/);
    const [notice] = await ops.waitFor(1);
    expect(JSON.parse(notice!.body)).toMatchObject({ event: 'endpoint.disabled', endpoint_id: downId });
    // Attempts stop once the endpoint is disabled: the third attempt came at about 2 s, none after.
    const attempts = down.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(down.requests.length).toBe(attempts);
  });
});

describe('replaying an outage and the delivery filters', () => {
  it('redeliverFailed sends every failed delivery since a time again, oldest first, each with its webhook-id', async () => {
    const app = await newApp();
    const hook = await receiver(...failing(2, 400));
    const endpointId = await endpoint(app, hook.url);
    const before = new Date().toISOString();
    await startTrial(app, 'outage-1');
    await startTrial(app, 'outage-2');
    const failed = await eventually(async () => {
      const edges = (await stack.gql(DELIVERIES, { endpointId, status: 'failed' })).data.deliveries.edges;
      return edges.length === 2 ? edges.map((edge: { node: { id: string } }) => edge.node.id) : undefined;
    });

    const replay = await stack.gql(`mutation($e: ID!, $s: DateTime!) { redeliverFailed(endpointId: $e, since: $s) { count errors { message } } }`, {
      e: endpointId,
      s: before,
    });
    expect(replay.data.redeliverFailed).toEqual({ count: 2, errors: [] });
    const requests = await hook.waitFor(4);
    expect(new Set(requests.slice(2).map((request) => request.headers['webhook-id']))).toEqual(new Set(failed));
    await eventually(async () => ((await stack.gql(DELIVERIES, { endpointId, status: 'delivered' })).data.deliveries.edges.length === 2 ? true : undefined));

    // Nothing failed is left: a second replay has nothing to send.
    const again = await stack.gql(`mutation($e: ID!, $s: DateTime!) { redeliverFailed(endpointId: $e, since: $s) { count } }`, { e: endpointId, s: before });
    expect(again.data.redeliverFailed.count).toBe(0);

    // Time filters: nothing was created before `before`, everything before now.
    expect((await stack.gql(DELIVERIES, { endpointId, until: before })).data.deliveries.edges).toHaveLength(0);
    expect((await stack.gql(DELIVERIES, { endpointId, since: before, until: new Date().toISOString() })).data.deliveries.edges).toHaveLength(2);
  });
});
