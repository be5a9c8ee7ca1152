/**
 * What a hostile client (or a hostile internet) tried, and what it now gets: documents whose
 * validation cost exploded, input nested deep enough to overflow the stack, revoked keys
 * living on in open sockets, ids that told which exist, a tester turned into a cannon, and
 * personal data left behind a deleted user.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Kind, parse, validate, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { schema } from '../src/graphql/schema.ts';
import { complexityRule, introspectionFields, MAX_NESTING, MAX_TOKENS } from '../src/graphql/guards.ts';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, SEGMENT_CHANGED, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';
import { startMain } from './support/processes.ts';
import { deepJson, deepSelection, doublingFragments } from './support/hostile-documents.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const newApp = async (name: string) => (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;

/** As a GraphQL-over-HTTP client asks (refusals are then 4xx, not 200 with errors). */
const rawPost = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${stack.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
  });

describe('GraphQL documents: validation cost linear in the size of the document', () => {
  it('refuses the 30-level doubling-fragment document, unauthenticated, while /healthz keeps answering', async () => {
    const document = doublingFragments(30);
    expect(document.length).toBeLessThan(1300);
    const refused = rawPost('/graphql', JSON.stringify({ query: document }));
    // The event loop is not held: a health check sent meanwhile is answered.
    const health = await fetch(`${stack.url}/healthz`);
    expect(health.status).toBe(200);
    const answer = await refused;
    expect(answer.status).toBe(400);
    const body = (await answer.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors.find((error) => /selects \d+ fields; the limit is 2000/.test(error.message))).toMatchObject({
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
  });

  it("validation measures each fragment once, however often it is spread (Pothos's rule and ours)", () => {
    const document = parse(doublingFragments(30));
    const fragments = new Map(
      document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    // Count every read of a fragment's selections: a rule that expanded spreads would read F0's
    // 2^29 times. graphql-js's own walk of the document reads each once; the rule may add one.
    const reads = new Map<string, number>();
    for (const [name, fragment] of fragments) {
      const selections = fragment.selectionSet.selections;
      Object.defineProperty(fragment.selectionSet as SelectionSetNode, 'selections', {
        get: () => {
          reads.set(name, (reads.get(name) ?? 0) + 1);
          return selections;
        },
      });
    }
    expect(validate(schema, document, [])).toEqual([]);
    const walked = new Map(reads);
    reads.clear();
    const errors = validate(schema, document, [complexityRule({ variables: {} }, {})]);
    expect(errors.map((error) => error.extensions.code)).toContain('QUERY_TOO_COMPLEX');
    expect(reads.size).toBe(30);
    for (const [name, count] of reads) expect(count - (walked.get(name) ?? 0), name).toBe(1);

    const introspecting = parse(doublingFragments(30, '__schema { queryType { name } }'));
    const introspectingFragments = new Map(
      introspecting.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    const operation = introspecting.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
    const measured: string[] = [];
    expect(introspectionFields(operation.selectionSet, introspectingFragments, (name) => measured.push(name))).toBeGreaterThan(500);
    // Stopped as soon as the limit was passed, and no fragment measured twice.
    expect(new Set(measured).size).toBe(measured.length);
  });

  it('refuses a selection nested 5,000 deep and a document over the token limit with 400 naming the limit', async () => {
    const deep = deepSelection(5000);
    const answer = await rawPost('/graphql', JSON.stringify({ query: deep }));
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe(
      `the document nests deeper than ${MAX_NESTING} levels; the limit is ${MAX_NESTING}`,
    );
    const long = `{ ${Array.from({ length: MAX_TOKENS }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const tooLong = await rawPost('/graphql', JSON.stringify({ query: long }), { authorization: `Bearer ${stack.adminToken}` });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(new RegExp(`${MAX_TOKENS} tokens`));
    // Variables nested too deep are refused before graphql-js coerces them.
    const deepVariables = `{"query":"query($i: StartTrialInput!) { startTrial(input: $i) { errors { message } } }","variables":{"i":${deepJson(100_000)}}}`;
    const refused = await rawPost('/graphql', deepVariables, { authorization: `Bearer ${stack.adminToken}` });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe(
      `variables nests deeper than ${MAX_NESTING} levels; the limit is ${MAX_NESTING}`,
    );
  });

  it('the same limits hold on graphql-ws, and a bad operation gets its error while the socket lives on', async () => {
    const client = stack.ws();
    const syntax = collect(client, '{ apps { id ', {});
    await expect(syntax.next(1, 3000)).rejects.toThrow(/Syntax Error/);
    const exploding = collect(client, doublingFragments(30), {});
    await expect(exploding.next(1, 3000)).rejects.toThrow(/QUERY_TOO_COMPLEX|the limit is 2000/);
    const deep = collect(client, deepSelection(5000), {});
    await expect(deep.next(1, 3000)).rejects.toThrow(/nests deeper than 64 levels/);
    // The socket was not closed by any of them: the next operation on it works.
    const app = await newApp('ws-lives');
    const live = collect<{ segmentChanged: { trial: { userId: string } } }>(client, SEGMENT_CHANGED, { appId: app.app.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'still-here', trialEnd: '2099-01-01T00:00:00Z' } });
    expect((await live.next(1))[0]!.segmentChanged.trial.userId).toBe('still-here');
    live.dispose();
  });

  it('one operation runs at most 10 mutations: 1,000 aliases of sendTestWebhook post nothing', async () => {
    const app = await newApp('aliases');
    const hook = await new Receiver().start();
    try {
      const endpoint = (await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url } }, app.apiKey)).data.createWebhookEndpoint.endpoint;
      const aliases = (count: number) => Array.from({ length: count }, (_, i) => `t${i}: sendTestWebhook(endpointId: $e) { errors { code } }`).join(' ');
      // 1,000 is over the token limit already; 11 is over the mutation limit.
      expect((await stack.gql(`mutation($e: ID!) { ${aliases(1000)} }`, { e: endpoint.id }, app.apiKey)).errors?.[0]?.message).toMatch(/5000 tokens/);
      const refused = await stack.gql(`mutation($e: ID!) { ${aliases(11)} }`, { e: endpoint.id }, app.apiKey);
      expect(refused.errors?.[0]).toMatchObject({
        message: 'mutation runs more than 10 root fields; the limit is 10 an operation',
        extensions: { code: 'TOO_MANY_MUTATIONS' },
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(hook.requests).toHaveLength(0);
      // The tester itself: 10 a minute to one endpoint, then RATE_LIMITED (counted in the database).
      const codes: string[] = [];
      for (let i = 0; i < 11; i++) {
        const sent = await stack.gql(
          `mutation($e: ID!) { sendTestWebhook(endpointId: $e) { attempt { statusCode } errors { code } } }`,
          { e: endpoint.id },
          app.apiKey,
        );
        codes.push(sent.data.sendTestWebhook.errors[0]?.code ?? String(sent.data.sendTestWebhook.attempt.statusCode));
      }
      expect(codes).toEqual([...Array<string>(10).fill('200'), 'RATE_LIMITED']);
      expect(hook.requests).toHaveLength(10);
    } finally {
      await hook.stop();
    }
  });

  it("with introspection off, validation errors do not spell the schema out ('Did you mean …')", async () => {
    const closed = await startTestStack({ role: 'api', config: { graphqlIntrospection: false } });
    try {
      const typo = await closed.gql(`{ aps { id } }`);
      expect(typo.errors?.[0]?.message).toBe('Cannot query field "aps" on type "Query".');
      const badEnum = await closed.gql(`query($s: SegmentKey) { trials(appId: "app_x", segment: $s) { edges { cursor } } }`, { s: 'explorin' });
      expect(badEnum.errors?.[0]?.message).not.toMatch(/did you mean/i);
    } finally {
      await closed.stop();
    }
    // With introspection on (development), suggestions help.
    expect((await stack.gql(`{ aps { id } }`)).errors?.[0]?.message).toMatch(/Did you mean .*"apps"/);
  });
});

describe('ingest bodies: nesting refused before anything recursive runs, and numbers finite', () => {
  it('answers 400 naming the limit for deep nesting on /v1/track, /v1/batch and the Segment hook', async () => {
    const app = await newApp('deep');
    const basic = { authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` };
    const deepProperties = `{"userId":"u","event":"E","properties":${deepJson(5000)}}`;
    const deepArrays = `{"batch":[${deepJson(100_000, '[', ']')}]}`;
    const deepHook = `{"type":"track","userId":"u","event":"E","properties":${deepJson(20_000)}}`;
    for (const [path, body] of [
      ['/v1/track', deepProperties],
      ['/v1/batch', deepArrays],
      [`/hooks/segment/${app.writeKey}`, deepHook],
    ] as const) {
      const answer = await rawPost(path, body, basic);
      expect(answer.status, path).toBe(400);
      expect(((await answer.json()) as { error: string }).error, path).toBe('the body nests deeper than 64 levels; the limit is 64');
    }
    expect(await stack.count('select count(*) as n from events')).toBe(0);
  });

  it('refuses a number JSON cannot hold (1e309) naming the field, instead of storing null', async () => {
    const app = await newApp('infinite');
    const basic = { authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` };
    const answer = await rawPost('/v1/track', '{"userId":"u","event":"E","properties":{"big":1e309}}', basic);
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toMatch(/^properties\.big must be a finite number/);
    const batch = await rawPost('/v1/batch', '{"batch":[{"type":"track","userId":"u","event":"E","properties":{"n":-1e400}}]}', basic);
    expect(((await batch.json()) as { error: string }).error).toMatch(/^batch\.0\.properties\.n must be a finite number/);
  });

  it('answers 400, not 500, to bad percent-encoding in a hook path', async () => {
    for (const path of ['/hooks/segment/%E0%A4%A', '/hooks/stripe/%ZZ']) {
      const answer = await rawPost(path, '{}');
      expect(answer.status, path).toBe(400);
      expect(((await answer.json()) as { error: string }).error).toMatch(/not valid percent-encoding/);
    }
  });
});

describe('ids do not tell a tenant which exist', () => {
  it("another app's endpoint, delivery and API key are answered exactly as ids that do not exist", async () => {
    const mine = await newApp('ids-mine');
    const theirs = await newApp('ids-theirs');
    const hook = await new Receiver().start();
    try {
      const endpoint = (await stack.gql(CREATE_ENDPOINT, { input: { appId: theirs.app.id, url: hook.url } })).data.createWebhookEndpoint.endpoint;
      await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { code } } }`, { e: endpoint.id });
      const delivery = (await stack.gql(`query($e: ID!) { deliveries(endpointId: $e) { edges { node { id } } } }`, { e: endpoint.id })).data.deliveries.edges[0]
        .node.id;
      const key = (await stack.gql(`query($a: ID!) { apiKeys(appId: $a) { id } }`, { a: theirs.app.id })).data.apiKeys[0].id;
      type Probe = (target: string) => [string, Record<string, unknown>, string];
      const answer = async (probe: Probe, target: string) => JSON.stringify(await stack.gql(...probe(target))).replaceAll(target, 'ID');
      const cases: Array<[string, string, Probe]> = [
        [endpoint.id, 'ep_doesnotexist0000000000', (e) => [`query($e: ID!) { deliveries(endpointId: $e) { edges { cursor } } }`, { e }, mine.apiKey]],
        [endpoint.id, 'ep_doesnotexist0000000000', (e) => [`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { code } } }`, { e }, mine.apiKey]],
        [
          endpoint.id,
          'ep_doesnotexist0000000000',
          (e) => [
            `mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { errors { code } } }`,
            { i: { endpointId: e, enabled: false } },
            mine.apiKey,
          ],
        ],
        [
          delivery,
          'msg_doesnotexist000000000',
          (d) => [`mutation($d: ID!) { redeliver(deliveryId: $d) { errors { field message code } } }`, { d }, mine.apiKey],
        ],
        [
          key,
          'key_doesnotexist000000000',
          (k) => [`mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { errors { field message code } } }`, { i: { apiKeyId: k } }, mine.apiKey],
        ],
      ];
      for (const [id, missing, probe] of cases) {
        const existing = await answer(probe, id);
        const absent = await answer(probe, missing);
        expect(existing, probe(id)[0]).toBe(absent);
        expect(existing).toMatch(/NOT_FOUND/);
      }
      // Nothing was changed by those attempts.
      expect((await stack.gql(`query($a: ID!) { apiKeys(appId: $a) { revokedAt } }`, { a: theirs.app.id })).data.apiKeys[0].revokedAt).toBeNull();
      expect((await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { enabled } }`, { a: theirs.app.id })).data.webhookEndpoints[0].enabled).toBe(true);
    } finally {
      await hook.stop();
    }
  });
});

/** A graphql-ws client with this key in connection_init that records how its socket closed. */
function openSocket(url: string, secret: string) {
  const closes: Array<{ code: number; at: number }> = [];
  const client = createClient({
    url: `${url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${secret}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on: { closed: (event) => closes.push({ code: (event as { code: number }).code, at: Date.now() }) },
  });
  return { client, closes };
}

describe('a revoked API key', () => {
  it('closes its sockets (4403) within a second on every API process, and the socket can do nothing after', async () => {
    // A second API process (its own LISTEN connection and credential cache) on the same database.
    const other = await startMain('api', {
      PORT: '0',
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
      ADMIN_TOKEN: stack.adminToken,
      DATA_DIR: await mkdtemp(join(tmpdir(), 'trialcast-revoke-')),
    });
    try {
      const app = await newApp('revoked');
      const created = (
        await stack.gql(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } secret } }`, { i: { appId: app.app.id, name: 'doomed' } })
      ).data.createApiKey;
      const here = openSocket(stack.url, created.secret);
      const there = openSocket(other.ready.api!, created.secret);
      const subscriptions = [here, there].map(({ client }) =>
        collect<{ segmentChanged: { trial: { userId: string } } }>(client, SEGMENT_CHANGED, { appId: app.app.id }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'before', trialEnd: '2099-01-01T00:00:00Z' } });
      for (const subscription of subscriptions) expect((await subscription.next(1))[0]!.segmentChanged.trial.userId).toBe('before');

      const revokedAt = Date.now();
      const revoked = await stack.gql(
        `mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { apiKey { revokedAt } errors { code } } }`,
        { i: { apiKeyId: created.apiKey.id } },
        created.secret,
      );
      expect(revoked.data.revokeApiKey.errors).toEqual([]);
      for (const { closes } of [here, there]) {
        const closed = await eventually(async () => closes[0], 1000);
        expect(closed.code).toBe(4403);
        expect(closed.at - revokedAt).toBeLessThan(1000);
      }
      // Neither process accepts the key any more, over HTTP or a new socket.
      for (const url of [stack.url, other.ready.api!]) {
        const answer = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${created.secret}` },
          body: JSON.stringify({
            query: `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }`,
            variables: { i: { appId: app.app.id, name: 'way back in' } },
          }),
        });
        expect(((await answer.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
        const again = openSocket(url, created.secret);
        await expect(collect(again.client, `{ apps { id } }`, {}).next(1, 3000)).rejects.toThrow(/subscription failed/);
        expect((await eventually(async () => again.closes[0], 1000)).code).toBe(4403);
        await again.client.dispose();
      }
      // Nothing got through after the revocation: no new key, no more changes streamed.
      expect(
        (await stack.gql(`query($a: ID!) { apiKeys(appId: $a) { name } }`, { a: app.app.id })).data.apiKeys.map((key: { name: string }) => key.name),
      ).toEqual(['default', 'doomed']);
      await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'after', trialEnd: '2099-01-01T00:00:00Z' } });
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const subscription of subscriptions) expect(subscription.events.map((event) => event.segmentChanged.trial.userId)).toEqual(['before']);
      await Promise.all([here.client.dispose(), there.client.dispose()]);
    } finally {
      other.child.kill('SIGTERM');
      await other.exited;
    }
  }, 120_000);

  it('a socket whose key is revoked in the database but whose notice was missed is refused at its next operation', async () => {
    const app = await newApp('missed-notice');
    const created = (
      await stack.gql(`mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } secret } }`, { i: { appId: app.app.id, name: 'quiet' } })
    ).data.createApiKey;
    const { client, closes } = openSocket(stack.url, created.secret);
    expect((await collect<{ apps: unknown[] }>(client, `{ apps { id } }`, {}).next(1))[0]!.apps).toHaveLength(1);
    // Revoked behind the API's back (no notice): the cache holds the key for at most 5 s.
    await stack.sql('update api_keys set revoked_at = now() where id = $1', [created.apiKey.id]);
    await new Promise((resolve) => setTimeout(resolve, 5200));
    await expect(collect(client, `{ apps { id } }`, {}).next(1, 3000)).rejects.toThrow(/subscription failed/);
    expect((await eventually(async () => closes[0], 1000)).code).toBe(4403);
    await client.dispose();
  }, 20_000);
});

describe('a deleted user', () => {
  it('leaves no personal data in webhook payloads or attempts; ids, counts and timings stay', async () => {
    const app = await newApp('erasure');
    const hook = await new Receiver().start();
    try {
      await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, eventTypes: ['*'] } }, app.apiKey);
      await stack.gql(START_TRIAL, {
        input: { appId: app.app.id, userId: 'erase-me', email: 'erase.me@example.com', stripeCustomerId: 'cus_EraseMe', trialEnd: '2099-01-01T00:00:00Z' },
      });
      await hook.waitFor(3);
      const trialId = (await stack.sql('select id from trials where user_id = $1', ['erase-me']))[0].id;
      // Received is not yet recorded: wait for the three deliveries to be recorded as delivered.
      await eventually(async () =>
        (await stack.count(`select count(*) as n from webhook_deliveries where trial_id = $1 and status = 'delivered'`, [trialId])) === 3 ? true : undefined,
      );
      const before = await stack.sql('select id, attempt_count, created_at, delivered_at from webhook_deliveries where trial_id = $1 order by id', [trialId]);
      expect(before.length).toBeGreaterThan(0);
      const deleted = await stack.gql(
        `mutation($i: DeleteTrialInput!) { deleteTrial(input: $i) { deletedId errors { code } } }`,
        { i: { appId: app.app.id, userId: 'erase-me' } },
        app.apiKey,
      );
      expect(deleted.data.deleteTrial.errors).toEqual([]);
      // The cancellation's own deliveries are planned by the workflow: wait until they are recorded and erased too.
      const personal = `body like '%erase-me%' or body like '%erase.me@example.com%' or body like '%cus_EraseMe%'`;
      await eventually(async () =>
        (await stack.count(`select count(*) as n from webhook_deliveries where trial_id = $1 and (${personal})`, [trialId])) === 0 &&
        (await stack.count(`select count(*) as n from webhook_deliveries where trial_id = $1`, [trialId])) > before.length
          ? true
          : undefined,
      );
      const after = await stack.sql('select id, attempt_count, created_at, delivered_at, body from webhook_deliveries where trial_id = $1 order by id', [
        trialId,
      ]);
      for (const row of before)
        expect(after.find((candidate) => candidate.id === row.id)).toMatchObject({
          attempt_count: row.attempt_count,
          created_at: row.created_at,
          delivered_at: row.delivered_at,
        });
      for (const row of after) {
        const body = JSON.parse(row.body);
        expect(body.trial).toMatchObject({ user_id: null, email: null, stripe_customer_id: null, erased: true });
        expect(body).toMatchObject({ id: expect.stringMatching(/^evt_/), app_id: app.app.id, sequence: expect.any(Number) });
      }
      expect(
        await stack.count(`select count(*) as n from delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.trial_id = $1`, [trialId]),
      ).toBeGreaterThan(0);
      expect(
        await stack.count(
          `select count(*) as n from delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.trial_id = $1 and (a.response_body is not null or a.response_headers is not null)`,
          [trialId],
        ),
      ).toBe(0);
    } finally {
      await hook.stop();
    }
  });
});
