/**
 * Destinations (an endpoint's format), against receivers on loopback that check what the real
 * services check, and a Segment destination pointed at a second app of this same Trialcast.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOf, defaultUrl, renderRequest } from '../src/modules/webhooks/formats.ts';
import { evaluateTemplate, expressionProblem, TemplateError } from '../src/modules/webhooks/template.ts';
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
const DRAFT_PREVIEW = `query($input: WebhookEndpointDraftInput!) { webhookRequestPreview(input: $input) { calls { method url headers { name value } body } error } }`;
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
    // The console's preview: the call a sample move would make, its credential masked.
    const preview = (
      await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { requestPreview { calls { method url headers { name value } body } error } } }`, {
        a: source.app.id,
      })
    ).data.webhookEndpoints[0].requestPreview;
    expect(preview.error).toBeNull();
    expect(preview.calls).toHaveLength(1);
    expect(preview.calls[0]).toMatchObject({ method: 'POST', url: `${stack.url}/v1/batch` });
    expect(preview.calls[0].headers).toContainEqual({ name: 'authorization', value: 'Basic ••••' });
    expect(JSON.stringify(preview)).not.toContain(Buffer.from(`${target.writeKey}:`).toString('base64'));
    expect(JSON.parse(preview.calls[0].body).batch[0]).toMatchObject({ type: 'identify', userId: 'usr_8a3f4b', traits: { trial_segment: 'found_value' } });

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

    // The same delivery again (its webhook-id, so its messageIds): the target counts it once. (Once its first attempt is
    // recorded: a redelivery asked while that attempt is still being recorded finds it delivered and is skipped.)
    const delivery = await eventually(async () => {
      const [row] = await stack.sql(
        `select d.id, d.status from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 and d.event_type = 'trial.segment_changed'`,
        [source.app.id],
      );
      return row?.status === 'delivered' ? row : undefined;
    });
    const redelivered = await stack.gql(`mutation($d: ID!) { redeliver(deliveryId: $d) { errors { message } } }`, { d: delivery.id });
    expect(redelivered.data.redeliver.errors).toEqual([]);
    await eventually(async () =>
      (await stack.count(`select count(*) as n from delivery_attempts where delivery_id = $1`, [delivery.id])) === 2 ? true : undefined,
    );
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and user_id = 'sia'`, [target.app.id])).toBe(2);
  });

  it("an account's move is told under the account's id, and a test as Trialcast's own track", async () => {
    const body = JSON.stringify({
      event: 'trial.segment_changed',
      app_id: 'app_1',
      trial: { user_id: null, email: null, account_id: 'acme', trial_end: '2099-01-01T00:00:00.000Z' },
      old_segment: 'exploring',
      new_segment: 'found_value',
      reason: 'aha_event_received',
      occurred_at: '2026-12-05T00:00:00.000Z',
    });
    const [request] = (await renderRequest('segment', { url: 'https://api.segment.io/', credentials: { writeKey: 'wk' } }, { id: 'msg_1', body }, null)).calls;
    expect(request!.url).toBe('https://api.segment.io/v1/batch');
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('wk:').toString('base64')}`);
    const batch = JSON.parse(request!.body).batch;
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
    const [test] = (
      await renderRequest(
        'segment',
        { url: 'https://api.segment.io', credentials: { writeKey: 'wk' } },
        { id: 'msg_2', body: '{"event":"webhook.test","app_id":"app_1"}' },
        null,
      )
    ).calls;
    expect(JSON.parse(test!.body).batch).toEqual([
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

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: any;
}

/** A receiver answering from `answer(request)`; every request it saw is kept. */
async function apiReceiver(answer: (request: Seen) => { status: number; body: object }) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const request = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body: raw ? JSON.parse(raw) : null };
      seen.push(request);
      const { status, body } = answer(request);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const ATTEMPTS = `query($e: ID!) { deliveries(endpointId: $e) { edges { node { id status eventType attempts { statusCode error } } } } }`;

/** HubSpot's 400 when a property does not exist, as its API words it. */
const hubspotMissing = (names: string[]) => ({
  status: 'error',
  message: `Property values were not valid: ${JSON.stringify(
    names.map((name) => ({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name })),
  )}`,
  category: 'VALIDATION_ERROR',
});

describe('hubspot', () => {
  it("names the properties HubSpot lacks, from HubSpot's own 400", () => {
    const meaning = answerOf('hubspot', { statusCode: 400, body: JSON.stringify(hubspotMissing(['trialcast_segment_reason', 'trialcast_trial_end'])) });
    expect(meaning).toEqual({
      outcome: 'final',
      disables: null,
      note: 'HubSpot has no property trialcast_segment_reason, trialcast_trial_end: create it in HubSpot (Settings → Properties, single-line text)',
    });
  });

  it("sets the contact's properties by email with the private app's token; an unknown contact is retried until it exists", async () => {
    const app = await newApp('hubspot');
    let contactExists = false;
    const hubspot = await apiReceiver((request) => {
      if (request.authorization !== 'Bearer pat-na1-test') return { status: 401, body: { status: 'error', category: 'INVALID_AUTHENTICATION' } };
      if (request.method !== 'PATCH' || !request.path.startsWith('/crm/v3/objects/contacts/')) return { status: 405, body: {} };
      if (!contactExists) return { status: 404, body: { status: 'error', message: 'resource not found', category: 'OBJECT_NOT_FOUND' } };
      return { status: 200, body: { id: '51', properties: request.body.properties } };
    });
    const created = await stack.gql(CREATE, {
      input: {
        appId: app.app.id,
        url: hubspot.url,
        format: 'hubspot',
        destination: { accessToken: 'pat-na1-test' },
        retrySchedule: ['PT0S', 'PT0.5S', 'PT0.5S', 'PT0.5S'],
      },
    });
    const endpointId = created.data.createWebhookEndpoint.endpoint.id;
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'hu', email: 'hu@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(async () => (hubspot.seen.length >= 1 ? true : undefined));
    contactExists = true;
    const node = await eventually(async () => {
      const edge = (await stack.gql(ATTEMPTS, { e: endpointId })).data.deliveries.edges[0];
      return edge?.node.status === 'delivered' ? edge.node : undefined;
    });
    expect(node.attempts[0]).toEqual({ statusCode: 404, error: 'HubSpot has no such contact (or company) yet; retried as the schedule says' });
    expect(node.attempts.at(-1).statusCode).toBe(200);
    const last = hubspot.seen.at(-1)!;
    expect(last.path).toBe('/crm/v3/objects/contacts/hu%40example.com?idProperty=email');
    expect(last.body).toEqual({
      properties: { trialcast_segment: 'exploring', trialcast_segment_reason: 'trial_started', trialcast_trial_end: '2099-01-01T00:00:00.000Z' },
    });
  });

  it('a missing property fails the delivery with an attempt error that names it', async () => {
    const app = await newApp('hubspot-missing');
    const hubspot = await apiReceiver(() => ({ status: 400, body: hubspotMissing(['trialcast_segment_reason']) }));
    const created = await stack.gql(CREATE, { input: { appId: app.app.id, url: hubspot.url, format: 'hubspot', destination: { accessToken: 't' } } });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'hm', email: 'hm@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    const node = await eventually(async () => {
      const edge = (await stack.gql(ATTEMPTS, { e: created.data.createWebhookEndpoint.endpoint.id })).data.deliveries.edges[0];
      return edge?.node.status === 'failed' ? edge.node : undefined;
    });
    expect(node.attempts).toEqual([{ statusCode: 400, error: expect.stringContaining('HubSpot has no property trialcast_segment_reason') }]);
  });
});

describe('customerio', () => {
  it("the person's attributes (PUT) then the move as an event (POST), Basic site id : API key; a redelivery carries the same event id", async () => {
    const app = await newApp('customerio');
    const auth = `Basic ${Buffer.from('site-1:key-1').toString('base64')}`;
    const cio = await apiReceiver((request) =>
      request.authorization === auth ? { status: 200, body: {} } : { status: 401, body: { meta: { error: 'Unauthorized' } } },
    );
    const refused = await stack.gql(CREATE, { input: { appId: app.app.id, url: cio.url, format: 'customerio', destination: { siteId: 'site-1' } } });
    expect(refused.data.createWebhookEndpoint.errors).toEqual([
      { field: 'destination.apiKey', message: 'the customerio format needs destination.apiKey', code: 'INVALID' },
    ]);
    const created = await stack.gql(CREATE, {
      input: { appId: app.app.id, url: cio.url, format: 'customerio', destination: { siteId: 'site-1', apiKey: 'key-1' } },
    });
    const endpointId = created.data.createWebhookEndpoint.endpoint.id;
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'cy', email: 'cy@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(async () => (cio.seen.length === 2 ? true : undefined));
    expect(cio.seen.map((request) => `${request.method} ${request.path}`)).toEqual(['PUT /api/v1/customers/cy', 'POST /api/v1/customers/cy/events']);
    expect(cio.seen[0]!.body).toEqual({
      email: 'cy@example.com',
      trial_segment: 'exploring',
      trial_segment_reason: 'trial_started',
      trial_end: '2099-01-01T00:00:00.000Z',
    });
    expect(cio.seen[1]!.body).toMatchObject({ name: 'trial_segment_changed', data: { old_segment: null, new_segment: 'exploring', reason: 'trial_started' } });
    // Redelivered once its first attempt is recorded (as in the Segment test).
    const delivery = await eventually(async () => {
      const node = (await stack.gql(ATTEMPTS, { e: endpointId })).data.deliveries.edges[0]?.node;
      return node?.status === 'delivered' ? node : undefined;
    });
    expect(cio.seen[1]!.body.id).toBe(delivery.id);
    await stack.gql(`mutation($d: ID!) { redeliver(deliveryId: $d) { errors { message } } }`, { d: delivery.id });
    await eventually(async () => (cio.seen.length === 4 ? true : undefined));
    expect(cio.seen[3]!.body.id).toBe(delivery.id);
  });

  it("with no URL, the destination's own API: Customer.io's Track API of the region chosen, HubSpot's API", () => {
    // (Saved, such a URL passes the SSRF check by DNS, which this machine has none of: the choice is tested pure.)
    expect(defaultUrl('customerio', 'eu')).toBe('https://track-eu.customer.io');
    expect(defaultUrl('customerio', null)).toBe('https://track.customer.io');
    expect(defaultUrl('hubspot', null)).toBe('https://api.hubapi.com');
    expect(defaultUrl('slack', null)).toBeNull();
  });
});

describe('template', () => {
  const payload = { event: 'trial.segment_changed', trial: { user_id: 'tia', email: 'tia@example.com' }, old_segment: 'exploring', new_segment: 'gone_quiet' };

  it('evaluates JSONata over the standard payload, bounded in time, depth and size; a failure is a TemplateError', async () => {
    expect(JSON.parse(await evaluateTemplate('{"contact": trial.email, "stage": new_segment}', payload))).toEqual({
      contact: 'tia@example.com',
      stage: 'gone_quiet',
    });
    await expect(evaluateTemplate('$error("no stage for " & new_segment)', payload)).rejects.toThrow(
      new TemplateError('the expression failed: no stage for gone_quiet'),
    );
    await expect(evaluateTemplate('($f := function($x) { $f($x) + 1 }; $f(1))', payload)).rejects.toBeInstanceOf(TemplateError);
    await expect(evaluateTemplate('$pad("x", 300000)', payload)).rejects.toThrow(/over 262144 bytes/);
    await expect(evaluateTemplate('nothing.here', payload)).rejects.toThrow('the expression gave nothing for this payload');
    expect(expressionProblem('{"a": ')).toMatch(/^the expression is not JSONata/);
    expect(expressionProblem('x'.repeat(10_001))).toBe('the expression is over 10000 characters');
    expect(expressionProblem('{"ok": true}')).toBeNull();
  });

  it('posts the computed body; an expression that fails on a payload fails its delivery once, with the error, sending nothing', async () => {
    const app = await newApp('template');
    const api = await apiReceiver(() => ({ status: 202, body: { accepted: true } }));
    const badSyntax = await stack.gql(CREATE, { input: { appId: app.app.id, url: api.url, format: 'template', destination: { expression: '{"a": ' } } });
    expect(badSyntax.data.createWebhookEndpoint.errors).toEqual([
      { field: 'destination.expression', message: expect.stringMatching(/^the expression is not JSONata/), code: 'INVALID' },
    ]);
    // What a template would send, before it is saved.
    const previewOf = async (expression: string) => {
      const { data } = await stack.gql(DRAFT_PREVIEW, { input: { appId: app.app.id, url: api.url, format: 'template', destination: { expression } } });
      return { calls: data.webhookRequestPreview.calls.map(({ body }: { body: string }) => ({ body })), error: data.webhookRequestPreview.error };
    };
    expect(await previewOf('{"stage": new_segment}')).toEqual({ calls: [{ body: '{"stage":"found_value"}' }], error: null });
    expect(await previewOf('$error("not for samples")')).toEqual({ calls: [], error: 'the expression failed: not for samples' });
    const expression = 'trial.email ? {"email": trial.email, "stage": new_segment} : $error("no email")';
    const created = await stack.gql(CREATE, { input: { appId: app.app.id, url: `${api.url}/people`, format: 'template', destination: { expression } } });
    const endpointId = created.data.createWebhookEndpoint.endpoint.id;
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'tia', email: 'tia@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(async () => (api.seen.length ? true : undefined));
    expect(api.seen[0]).toMatchObject({ method: 'POST', path: '/people', body: { email: 'tia@example.com', stage: 'exploring' } });

    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'no-email', trialEnd: '2099-01-01T00:00:00Z' } });
    const failed = await eventually(async () => {
      const edges = (await stack.gql(ATTEMPTS, { e: endpointId })).data.deliveries.edges;
      return edges.find((edge: { node: { status: string } }) => edge.node.status === 'failed')?.node;
    });
    expect(failed.attempts).toEqual([{ statusCode: null, error: 'the expression failed: no email' }]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(api.seen).toHaveLength(1);
  });
});

describe("the endpoint form's preview, before saving", () => {
  it('renders a draft (a new endpoint, or changes to a saved one over its saved credentials), says what is missing, and shows no other app its endpoints', async () => {
    const app = await newApp('drafts');
    const other = await newApp('drafts-other');
    const draft = async (input: Record<string, unknown>, token?: string) => {
      const answer = await stack.gql(DRAFT_PREVIEW, { input: { appId: app.app.id, ...input } }, token);
      return answer.errors ? answer.errors.map((error) => error.extensions?.code) : answer.data.webhookRequestPreview;
    };
    const header = (call: { headers: Array<{ name: string; value: string }> }, name: string) => call.headers.find((h) => h.name.toLowerCase() === name)?.value;

    expect(await draft({ format: 'segment', url: 'https://api.segment.io' })).toEqual({ calls: [], error: 'the segment format needs destination.writeKey' });
    const slack = await draft({ format: 'slack', url: 'https://hooks.slack.com/services/T/B/X' });
    expect(slack.calls[0]).toMatchObject({ method: 'POST', url: 'https://hooks.slack.com/services/T/B/X' });
    expect(JSON.parse(slack.calls[0].body).text).toContain('exploring → found value');
    // A new signed endpoint shows its headers, the signature's shape among them.
    const signed = await draft({ url: 'https://example.com/hooks', headers: [{ name: 'X-Team', value: 'growth' }] });
    expect(header(signed.calls[0], 'x-team')).toBe('growth');
    expect(header(signed.calls[0], 'webhook-signature')).toMatch(/^v1,/);

    const saved = await stack.gql(CREATE, {
      input: { appId: app.app.id, url: stack.url, format: 'segment', destination: { writeKey: 'wk_secret_123' } },
    });
    const endpointId = saved.data.createWebhookEndpoint.endpoint.id;
    // Editing its URL: the saved write key still goes out (masked here), to the URL as typed.
    const edited = await draft({ endpointId, url: 'https://events.eu1.segmentapis.com' });
    expect(edited.calls[0]).toMatchObject({ url: 'https://events.eu1.segmentapis.com/v1/batch' });
    expect(header(edited.calls[0], 'authorization')).toBe('Basic ••••');
    expect(JSON.stringify(edited)).not.toContain('wk_secret_123');
    expect(await draft({ endpointId }, other.apiKey)).toEqual(['FORBIDDEN']);
    expect(
      await stack.gql(DRAFT_PREVIEW, { input: { appId: other.app.id, endpointId } }, other.apiKey).then((answer) => answer.errors?.[0]?.extensions?.code),
    ).toBe('NOT_FOUND');
  });
});

describe('zapier REST hooks', () => {
  it("subscribe with the app's API key, a move (into the chosen segment only) arrives flat at the target, samples, unsubscribe", async () => {
    const app = await newApp('zapier');
    const other = await newApp('zapier-other');
    const target = await apiReceiver(() => ({ status: 200, body: { status: 'success' } }));
    const zapier = (path: string, init: { method?: string; key?: string | null; body?: object } = {}) =>
      fetch(`${stack.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { 'content-type': 'application/json', ...(init.key === null ? {} : { 'x-api-key': init.key ?? app.apiKey }) },
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
      });

    expect((await zapier('/zapier/me', { key: null })).status).toBe(401);
    expect((await zapier('/zapier/me', { key: stack.adminToken })).status).toBe(401);
    expect(await (await zapier('/zapier/me')).json()).toEqual({ app: { id: app.app.id, name: 'zapier' } });

    // Before any move, a sample of the right shape.
    const [madeUp] = await (await zapier('/zapier/samples?event=trial.segment_entered')).json();
    expect(madeUp).toMatchObject({ event: 'trial.segment_entered', user_id: expect.any(String), segment: expect.any(String) });

    const bad = await zapier('/zapier/hooks', { method: 'POST', body: { target_url: target.url, event: 'trial.nope' } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toContain('event must be one of');
    const subscribed = await zapier('/zapier/hooks', {
      method: 'POST',
      body: { target_url: `${target.url}/hooks/catch/1/abc`, event: 'trial.segment_entered', segment: 'found_value' },
    });
    expect(subscribed.status).toBe(201);
    const { id } = await subscribed.json();

    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
    });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'zed', email: 'zed@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Entering exploring is not what the Zap asked for.
    expect(target.seen).toHaveLength(0);
    const track = await fetch(`${stack.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'zed', event: 'Report Viewed' }),
    });
    expect(track.status).toBe(200);
    await eventually(async () => (target.seen.length ? true : undefined));
    expect(target.seen[0]).toMatchObject({
      method: 'POST',
      path: '/hooks/catch/1/abc',
      body: { event: 'trial.segment_entered', segment: 'found_value', user_id: 'zed', email: 'zed@example.com', new_segment: 'found_value' },
    });
    expect(target.seen[0]!.body.trial).toBeUndefined();
    // The real payload is now the sample.
    const [real] = await (await zapier('/zapier/samples?event=trial.segment_entered')).json();
    expect(real).toMatchObject({ user_id: 'zed', segment: 'found_value' });

    expect((await zapier(`/zapier/hooks/${id}`, { method: 'DELETE', key: other.apiKey })).status).toBe(404);
    expect(await (await zapier(`/zapier/hooks/${id}`, { method: 'DELETE' })).json()).toEqual({ deleted: id });
    expect((await stack.gql(ENDPOINT, { a: app.app.id })).data.webhookEndpoints).toEqual([]);
  });

  it("Zapier's 410 (the Zap turned off) deletes the hook and nothing more is sent", async () => {
    const app = await newApp('zapier-gone');
    const target = await apiReceiver(() => ({ status: 410, body: { status: 'gone' } }));
    const subscribed = await fetch(`${stack.url}/zapier/hooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${app.apiKey}` },
      body: JSON.stringify({ target_url: target.url, event: 'trial.started' }),
    });
    expect(subscribed.status).toBe(201);
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'off', trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(async () => ((await stack.gql(ENDPOINT, { a: app.app.id })).data.webhookEndpoints.length === 0 ? true : undefined));
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'after', trialEnd: '2099-01-01T00:00:00Z' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(target.seen).toHaveLength(1);
  });
});
