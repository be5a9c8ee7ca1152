/**
 * Destinations (an endpoint's format), against receivers on loopback that check what the real
 * services check, and a Segment destination pointed at a second app of this same Trialcast.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRequest } from '../src/modules/webhooks/formats.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, START_TRIAL, type CreatedApp } from './support/operations.ts';

let stack: TestStack;
const closers: Array<() => void> = [];
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  closers.forEach((close) => close());
  await stack?.stop();
});

const CREATE = /* GraphQL */ `
  mutation ($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      endpoint {
        id
        format
        destinationSet
      }
      errors {
        field
        message
        code
      }
    }
  }
`;
const ENDPOINT = `query($a: ID!) { webhookEndpoints(appId: $a) { id format enabled disabledReason } }`;

interface SlackRequest {
  headers: IncomingHttpHeaders;
  body: { text: string; blocks: Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }> }> };
}

/**
 * What Slack's incoming webhooks check: a POST of JSON with a `text` string (and, if any, `blocks`
 * as an array of typed blocks); `answer` says what this channel answers (200 "ok" while it exists).
 */
async function slackReceiver(answer: { status: number; body: string } = { status: 200, body: 'ok' }) {
  const requests: SlackRequest[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw);
      const valid =
        req.method === 'POST' &&
        req.headers['content-type'] === 'application/json' &&
        typeof body.text === 'string' &&
        Array.isArray(body.blocks) &&
        body.blocks.every((block: { type?: unknown }) => typeof block.type === 'string');
      requests.push({ headers: req.headers, body });
      res.writeHead(valid ? answer.status : 400, { 'content-type': 'text/plain' });
      res.end(valid ? answer.body : 'invalid_payload');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXX` };
}

const newApp = async (name: string) => (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;

describe('slack', () => {
  it('each move is a Slack message: text beside blocks with who, from → to, why and the trial end; unsigned', async () => {
    const app = await newApp('slack');
    const slack = await slackReceiver();
    const created = await stack.gql(CREATE, { input: { appId: app.app.id, url: slack.url, format: 'slack' } });
    expect(created.data.createWebhookEndpoint).toMatchObject({ endpoint: { format: 'slack', destinationSet: false }, errors: [] });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'sam', email: 'sam@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    const [request] = await eventually(async () => (slack.requests.length ? slack.requests : undefined));
    expect(request!.body.text).toBe('sam (sam@example.com): started in exploring (trial started)');
    expect(JSON.stringify(request!.body.blocks)).toContain('2099-01-01T00:00:00.000Z');
    expect(request!.headers['webhook-signature']).toBeUndefined();
    expect(request!.headers['user-agent']).toMatch(/^Trialcast\//);
  });

  it.each([
    [410, 'channel_is_archived'],
    [404, 'channel_not_found'],
  ])('Slack answering %i %s disables the endpoint with that reason, and nothing more is sent', async (status, said) => {
    const app = await newApp(`slack-${status}`);
    const slack = await slackReceiver({ status, body: said });
    await stack.gql(CREATE, { input: { appId: app.app.id, url: slack.url, format: 'slack', retrySchedule: ['PT0S', 'PT0.2S', 'PT0.2S'] } });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'gone', trialEnd: '2099-01-01T00:00:00Z' } });
    const endpoint = await eventually(async () => {
      const [found] = (await stack.gql(ENDPOINT, { a: app.app.id })).data.webhookEndpoints;
      return found.enabled ? undefined : found;
    });
    expect(endpoint.disabledReason).toBe(`Slack answered ${status} ${said}`);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(slack.requests).toHaveLength(1);
  });
});

describe('segment', () => {
  it('a move arrives at another Segment-compatible API (a second app of this Trialcast) as identify traits and a track, deduplicated on a retry, the write key never shown', async () => {
    const source = await newApp('segment-source');
    const target = await newApp('segment-target');
    const refused = await stack.gql(CREATE, { input: { appId: source.app.id, url: stack.url, format: 'segment' } });
    expect(refused.data.createWebhookEndpoint.errors).toEqual([
      { field: 'destination.writeKey', message: 'the segment format needs destination.writeKey', code: 'INVALID' },
    ]);
    const created = await stack.gql(CREATE, {
      input: { appId: source.app.id, url: stack.url, format: 'segment', destination: { writeKey: target.writeKey } },
    });
    expect(created.data.createWebhookEndpoint).toMatchObject({ endpoint: { format: 'segment', destinationSet: true }, errors: [] });
    // Sealed at rest.
    const [row] = await stack.sql('select destination from webhook_endpoints where id = $1', [created.data.createWebhookEndpoint.endpoint.id]);
    expect(row.destination).not.toContain(target.writeKey);

    await stack.gql(START_TRIAL, { input: { appId: source.app.id, userId: 'sia', trialEnd: '2099-01-01T00:00:00Z' } });
    const arrived = await eventually(async () => {
      const rows = await stack.sql(`select type, event, traits, properties, message_id from events where app_id = $1 and user_id = 'sia' order by type`, [
        target.app.id,
      ]);
      return rows.length === 2 ? rows : undefined;
    });
    expect(arrived[0]).toMatchObject({
      type: 'identify',
      traits: { trial_segment: 'exploring', trial_segment_reason: 'trial_started', trial_end: '2099-01-01T00:00:00.000Z' },
    });
    expect(arrived[1]).toMatchObject({
      type: 'track',
      event: 'Trial Segment Changed',
      properties: { old_segment: null, new_segment: 'exploring', reason: 'trial_started' },
    });

    // The same delivery again (its webhook-id, so its messageIds): the target counts it once.
    const [delivery] = await stack.sql(
      `select d.id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 and d.event_type = 'trial.segment_changed'`,
      [source.app.id],
    );
    const redelivered = await stack.gql(`mutation($d: ID!) { redeliver(deliveryId: $d) { errors { message } } }`, { d: delivery.id });
    expect(redelivered.data.redeliver.errors).toEqual([]);
    await eventually(async () =>
      (await stack.count(`select count(*) as n from delivery_attempts where delivery_id = $1`, [delivery.id])) === 2 ? true : undefined,
    );
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and user_id = 'sia'`, [target.app.id])).toBe(2);
  });

  it("an account's move is told under the account's id, and a test as Trialcast's own track", () => {
    const body = JSON.stringify({
      event: 'trial.segment_changed',
      app_id: 'app_1',
      trial: { user_id: null, email: null, account_id: 'acme', trial_end: '2099-01-01T00:00:00.000Z' },
      old_segment: 'exploring',
      new_segment: 'found_value',
      reason: 'aha_event_received',
      occurred_at: '2026-12-05T00:00:00.000Z',
    });
    const request = renderRequest('segment', { url: 'https://api.segment.io/', credentials: { writeKey: 'wk' } }, { id: 'msg_1', body }, null);
    expect(request.url).toBe('https://api.segment.io/v1/batch');
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from('wk:').toString('base64')}`);
    const batch = JSON.parse(request.body).batch;
    expect(
      batch.map((message: { type: string; userId: string; groupId: string; messageId: string }) => [
        message.type,
        message.userId,
        message.groupId,
        message.messageId,
      ]),
    ).toEqual([
      ['identify', 'account:acme', 'acme', 'msg_1-identify'],
      ['track', 'account:acme', 'acme', 'msg_1-track'],
    ]);
    const test = renderRequest(
      'segment',
      { url: 'https://api.segment.io', credentials: { writeKey: 'wk' } },
      { id: 'msg_2', body: '{"event":"webhook.test","app_id":"app_1"}' },
      null,
    );
    expect(JSON.parse(test.body).batch).toEqual([
      {
        type: 'track',
        messageId: 'msg_2-track',
        anonymousId: 'trialcast',
        event: 'Trialcast webhook.test',
        properties: { event: 'webhook.test', app_id: 'app_1' },
      },
    ]);
  });
});
