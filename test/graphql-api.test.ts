/**
 * The GraphQL API's keys, limits and live replay, over real HTTP and graphql-ws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientSchema, getIntrospectionQuery, lexicographicSortSchema, printSchema } from 'graphql';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, SEGMENT_CHANGED, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';
import { loaderFor } from '../src/graphql/batch-loader.ts';
import { schema } from '../src/graphql/schema.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

const newApp = async (name = 'api') => (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;

describe('API keys', () => {
  const CREATE_KEY = `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id name revokedAt } secret errors { field code } } }`;
  const REVOKE_KEY = `mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { apiKey { id revokedAt } errors { code } } }`;

  it('are created with a secret shown once, listed without it, and stop working when revoked', async () => {
    const app = await newApp();
    const created = (await stack.gql(CREATE_KEY, { i: { appId: app.app.id, name: 'ci' } }, app.apiKey)).data.createApiKey;
    expect(created).toMatchObject({ apiKey: { name: 'ci', revokedAt: null }, errors: [] });
    expect(created.secret).toMatch(/^tck_/);

    const listed = await stack.gql(`query($a: ID!) { apiKeys(appId: $a) { id name revokedAt } }`, { a: app.app.id }, created.secret);
    expect(listed.data.apiKeys.map((key: { name: string }) => key.name)).toEqual(['default', 'ci']);
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const revoked = await stack.gql(REVOKE_KEY, { i: { apiKeyId: created.apiKey.id } }, app.apiKey);
    expect(revoked.data.revokeApiKey.apiKey.revokedAt).toEqual(expect.any(String));
    const refused = await stack.gql(`query($a: ID!) { app(id: $a) { id } }`, { a: app.app.id }, created.secret);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The app's other key still works.
    expect((await stack.gql(`query($a: ID!) { app(id: $a) { id } }`, { a: app.app.id }, app.apiKey)).data.app.id).toBe(app.app.id);
  });

  it("an app key cannot list, create or revoke another app's keys", async () => {
    const mine = await newApp('mine');
    const theirs = await newApp('theirs');
    const theirKeys = (await stack.gql(`query($a: ID!) { apiKeys(appId: $a) { id } }`, { a: theirs.app.id })).data.apiKeys;
    const attempts = [
      await stack.gql(`query($a: ID!) { apiKeys(appId: $a) { id } }`, { a: theirs.app.id }, mine.apiKey),
      await stack.gql(CREATE_KEY, { i: { appId: theirs.app.id, name: 'sneaky' } }, mine.apiKey),
    ];
    for (const attempt of attempts) expect(attempt.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Their key's id is answered as an id that does not exist (test/hostile-clients.test.ts compares the two).
    expect((await stack.gql(REVOKE_KEY, { i: { apiKeyId: theirKeys[0].id } }, mine.apiKey)).data.revokeApiKey.errors[0].code).toBe('NOT_FOUND');
    expect((await stack.gql(`query($a: ID!) { app(id: $a) { id } }`, { a: theirs.app.id }, theirs.apiKey)).data.app.id).toBe(theirs.app.id);
  });
});

describe('trials connection', () => {
  const TRIALS = `query($a: ID!, $s: SegmentKey, $q: String, $first: Int, $after: String) {
    trials(appId: $a, segment: $s, search: $q, first: $first, after: $after) {
      edges { cursor node { userId email segment latestChange { sequence newSegment reason } changes { sequence } } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

  it("pages newest first with cursors, filters by segment and searches user id or email, with each trial's changes", async () => {
    const app = await newApp('paging');
    for (const [userId, email] of [
      ['u-alpha', 'alpha@example.com'],
      ['u-beta', 'beta@example.com'],
      ['u-gamma', 'Gamma@Example.com'],
    ]) {
      await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, email, trialEnd: '2099-01-01T00:00:00Z' } });
    }
    await stack.gql(`mutation($i: ConvertTrialInput!) { convertTrial(input: $i) { errors { message } } }`, { i: { appId: app.app.id, userId: 'u-beta' } });
    const firstPage = (await stack.gql(TRIALS, { a: app.app.id, first: 2 })).data.trials;
    expect(firstPage.edges.map((edge: { node: { userId: string } }) => edge.node.userId)).toEqual(['u-gamma', 'u-beta']);
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    const secondPage = (await stack.gql(TRIALS, { a: app.app.id, first: 2, after: firstPage.pageInfo.endCursor })).data.trials;
    expect(secondPage.edges.map((edge: { node: { userId: string } }) => edge.node.userId)).toEqual(['u-alpha']);
    expect(secondPage.pageInfo.hasNextPage).toBe(false);

    const converted = (await stack.gql(TRIALS, { a: app.app.id, s: 'converted' })).data.trials.edges;
    expect(converted).toHaveLength(1);
    expect(converted[0].node).toMatchObject({
      userId: 'u-beta',
      latestChange: { sequence: 2, newSegment: 'converted', reason: 'converted' },
      changes: [{ sequence: 1 }, { sequence: 2 }],
    });
    expect((await stack.gql(TRIALS, { a: app.app.id, q: 'gam' })).data.trials.edges[0].node.userId).toBe('u-gamma');
    expect((await stack.gql(TRIALS, { a: app.app.id, q: 'u-' })).data.trials.edges).toHaveLength(3);
    expect((await stack.gql(TRIALS, { a: app.app.id, q: '%' })).data.trials.edges).toHaveLength(0);
    expect((await stack.gql(TRIALS, { a: app.app.id, after: 'not-a-cursor' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const other = await newApp('other-tenant');
    expect((await stack.gql(TRIALS, { a: app.app.id }, other.apiKey)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('the trial query (read without the ORM) answers every field as the list (entities) does, for a person and an account', async () => {
    const app = await newApp('one-trial');
    // A start a minute ago, to the millisecond: no threshold is near, so nothing moves the trials while they are compared.
    const trialStart = new Date(Date.now() - 60_000).toISOString();
    const FIELDS =
      'id appId kind userId accountId email stripeCustomerId workflowId workflowUrl trialStart trialEnd segment createdAt latestChange { sequence } deliveryCounts { pending }';
    await stack.gql(START_TRIAL, {
      input: {
        appId: app.app.id,
        userId: 'u-one',
        email: 'one@example.com',
        stripeCustomerId: 'cus_1',
        trialStart,
        trialEnd: '2099-01-01T00:00:00Z',
      },
    });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, accountId: 'acme', trialEnd: '2099-01-01T00:00:00Z' } });
    // Compared once both workflows have recorded their first segment: nothing changes them after that.
    await eventually(async () =>
      (await stack.count(`select count(*) as n from trials where app_id = $1 and segment is not null`, [app.app.id])) === 2 ? true : undefined,
    );
    const listed = (await stack.gql(`query($a: ID!) { trials(appId: $a) { edges { node { ${FIELDS} } } } }`, { a: app.app.id })).data.trials.edges.map(
      (edge: { node: unknown }) => edge.node,
    );
    const person = (await stack.gql(`query($a: ID!) { trial(appId: $a, userId: "u-one") { ${FIELDS} } }`, { a: app.app.id })).data.trial;
    const account = (await stack.gql(`query($a: ID!) { trial(appId: $a, accountId: "acme") { ${FIELDS} } }`, { a: app.app.id })).data.trial;
    expect(person).toMatchObject({
      userId: 'u-one',
      email: 'one@example.com',
      stripeCustomerId: 'cus_1',
      trialStart,
      kind: 'user',
    });
    expect(account).toMatchObject({ accountId: 'acme', userId: null, kind: 'account', trialEnd: '2099-01-01T00:00:00.000Z' });
    expect([account, person]).toEqual(listed);
  });

  it('a loader batches the loads of one turn into one call', async () => {
    const calls: string[][] = [];
    const scope = {};
    const loader = loaderFor<string, number>(scope, 'lengths', async (keys) => {
      calls.push(keys);
      return new Map(keys.map((key) => [key, key.length]));
    });
    const values = await Promise.all(['a', 'bb', 'a', 'ccc'].map((key) => loader.load(key)));
    expect(values).toEqual([1, 2, 1, 3]);
    expect(calls).toEqual([['a', 'bb', 'ccc']]);
    expect(loaderFor(scope, 'lengths', async () => new Map())).toBe(loader);
  });

  it('a page of 100 trials with their latest change and delivery counts costs the same few SQL queries as a page of 10', async () => {
    const app = await newApp('sql-count');
    const hook = await new Receiver().start();
    try {
      await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, eventTypes: ['trial.started'] } });
      for (let i = 0; i < 100; i += 1) {
        await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: `u-${i}`, trialEnd: '2099-01-01T00:00:00Z' } });
      }
      const PAGE = `query($a: ID!, $first: Int) { trials(appId: $a, first: $first) { edges { node { userId latestChange { newSegment } deliveryCounts { pending delivered failed } } } } }`;
      type Page = {
        trials: { edges: Array<{ node: { latestChange: { newSegment: string } | null; deliveryCounts: { pending: number; delivered: number } } }> };
      };
      // Settled first (every first segment recorded and its webhook delivered), so no workflow activity runs while counting.
      await eventually(async () => {
        const edges = (await stack.gql<Page>(PAGE, { a: app.app.id, first: 100 })).data!.trials.edges;
        return (
          (edges.length === 100 &&
            edges.every(
              ({ node }) => node.latestChange?.newSegment === 'exploring' && node.deliveryCounts.delivered === 1 && node.deliveryCounts.pending === 0,
            )) ||
          undefined
        );
      }, 30_000);

      const statementsFor = async (first: number) => {
        let statements = 0;
        stack.runtime.orm.config.set('onQuery', (sql: string) => ((statements += 1), sql));
        try {
          const page = await stack.gql<Page>(PAGE, { a: app.app.id, first });
          expect(page.data!.trials.edges).toHaveLength(first);
        } finally {
          stack.runtime.orm.config.set('onQuery', (sql: string) => sql);
        }
        return statements;
      };
      const forTen = await statementsFor(10);
      const forHundred = await statementsFor(100);
      expect(forHundred).toBe(forTen);
      // The page, every trial's changes, every trial's delivery counts.
      expect(forHundred).toBe(3);
    } finally {
      await hook.stop();
    }
  });
});

describe('input validation (zod schemas through the Pothos validation plugin)', () => {
  const fieldsOf = (errors: Array<{ field: string; code: string }>) => errors.map((error) => `${error.field}:${error.code}`).sort();

  it('a mutation answers every bad field at once as payload errors, naming the field and why, and changes nothing', async () => {
    const app = await newApp('validation');
    const endpoint = (
      await stack.gql(CREATE_ENDPOINT, {
        input: {
          appId: app.app.id,
          url: 'http://127.0.0.1:9/hooks',
          timeoutMs: 10,
          eventTypes: ['trial.nope'],
          headers: [{ name: 'Webhook-Id', value: 'x' }],
          disableAfter: 'soon',
        },
      })
    ).data.createWebhookEndpoint;
    expect(endpoint.endpoint).toBeNull();
    expect(fieldsOf(endpoint.errors)).toEqual(['disableAfter:INVALID', 'eventTypes.0:INVALID', 'headers.0.name:INVALID', 'timeoutMs:INVALID']);
    expect(endpoint.errors.find((error: { field: string }) => error.field === 'eventTypes.0').message).toMatch(/^unknown event type "trial.nope"/);
    expect((await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { id } }`, { a: app.app.id })).data.webhookEndpoints).toEqual([]);

    const SETTINGS = `mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { settings { inactivityAfter } errors { field message code } } }`;
    const settings = (
      await stack.gql(SETTINGS, { i: { appId: app.app.id, inactivityAfter: 'P1M', rateLimitPerSecond: 0, ahaRules: [{ event: ' ', count: 0 }] } })
    ).data.updateSegmentSettings;
    expect(settings.settings).toBeNull();
    expect(fieldsOf(settings.errors)).toEqual([
      'ahaRules.0.count:INVALID',
      'ahaRules.0.event:INVALID',
      'inactivityAfter:INVALID',
      'rateLimitPerSecond:INVALID',
    ]);
    expect(settings.errors.find((error: { field: string }) => error.field === 'inactivityAfter').message).toBe(
      'inactivityAfter must be an ISO-8601 duration of at least one second, such as P3D or PT30S; got "P1M"',
    );
    expect(
      (await stack.gql(`query($a: ID!) { segmentSettings(appId: $a) { inactivityAfter rateLimitPerSecond } }`, { a: app.app.id })).data.segmentSettings,
    ).toEqual({ inactivityAfter: 'P3D', rateLimitPerSecond: 1000 });

    const blank = (await stack.gql(CREATE_APP, { name: '   ' })).data.createApp;
    expect(blank).toMatchObject({ app: null, errors: [{ field: 'name', message: 'name must be 1 to 100 characters', code: 'INVALID' }] });
  });
});

describe('node(id)', () => {
  it('finds any entity by its global id, for its own tenant only', async () => {
    const app = await newApp('nodes');
    const other = await newApp('other-nodes');
    const trial = (await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'noded', trialEnd: '2099-01-01T00:00:00Z' } }, app.apiKey)).data
      .startTrial.trial;
    const endpoint = (
      await stack.gql(
        `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }`,
        { i: { appId: app.app.id, url: 'http://127.0.0.1:9/hooks' } },
        app.apiKey,
      )
    ).data.createWebhookEndpoint.endpoint;
    const change = await eventually(
      async () =>
        (await stack.gql(`query($a: ID!) { trials(appId: $a) { edges { node { latestChange { id } } } } }`, { a: app.app.id }, app.apiKey)).data.trials.edges[0]
          ?.node.latestChange ?? undefined,
    );
    const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on Trial { userId } ... on App { name } } }`;
    for (const [id, type] of [
      [app.app.id, 'App'],
      [trial.id, 'Trial'],
      [endpoint.id, 'WebhookEndpoint'],
      [change.id, 'SegmentChange'],
    ]) {
      expect((await stack.gql(NODE, { id }, app.apiKey)).data.node, id).toMatchObject({ __typename: type, id });
      // Another tenant cannot tell it exists.
      expect((await stack.gql(NODE, { id }, other.apiKey)).data.node, id).toBeNull();
    }
    expect((await stack.gql(NODE, { id: trial.id }, app.apiKey)).data.node.userId).toBe('noded');
    expect((await stack.gql(NODE, { id: 'nope_123' })).data.node).toBeNull();
  });
});

describe('limits', () => {
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${stack.url}/graphql`, { method: 'POST', body, headers: { authorization: `Bearer ${stack.adminToken}`, ...headers } });

  it('refuses operations deeper than 12 levels or selecting more than 2000 fields, naming the limit', async () => {
    const nested = (levels: number) => `{ trial(appId: "app_x", userId: "u") { ${'changes { trial { '.repeat(levels)}id${' } }'.repeat(levels)} } }`;
    const deep = await stack.gql(nested(6));
    expect(deep.errors?.[0]).toMatchObject({ message: 'operation is 14 levels deep; the limit is 12', extensions: { code: 'QUERY_TOO_DEEP' } });
    expect((await stack.gql(nested(5))).errors?.[0]?.extensions?.code).not.toBe('QUERY_TOO_DEEP');
    // Fragments count where they are used: 70 × (app + 10 × 3 fields) = 2,170 (in fewer tokens than the 5,000 limit).
    const fragments = `fragment F on App { id name createdAt } fragment G on App { ${'...F '.repeat(10)}}`;
    const wide = await stack.gql(`{ ${Array.from({ length: 70 }, (_, i) => `a${i}: app(id: "x") { ...G }`).join(' ')} } ${fragments}`);
    expect(wide.errors?.[0]).toMatchObject({ message: 'operation selects 2170 fields; the limit is 2000', extensions: { code: 'QUERY_TOO_COMPLEX' } });
    // A list field counts what it selects ten times (Pothos's complexity): few fields, nested lists.
    const lists = await stack.gql(
      `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: trials(appId: "x") { edges { node { changes { trial { changes { id } } } } } }`).join(' ')} }`,
    );
    expect(lists.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^operation costs \d+ \(a list field counts what it selects 10 times\); the limit is 20000$/),
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
    expect((await stack.gql(`{ apps { id name } }`)).errors).toBeUndefined();
  });

  it('refuses a body over a megabyte with 413, whether its size is announced or it arrives chunked', async () => {
    // Valid JSON with a padding variable: the size alone decides.
    const body = (bytes: number) => JSON.stringify({ query: '{ apps { id } }', variables: { pad: 'x'.repeat(bytes) } });
    const announced = await post(body(1_000_001), { 'content-type': 'application/json' });
    expect(announced.status).toBe(413);
    expect((await announced.json()).errors[0]).toMatchObject({
      message: 'the request body is larger than 1000000 bytes; the limit is 1000000',
      extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' },
    });
    const chunked = (text: string) =>
      fetch(`${stack.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
        // A stream body goes out chunked, without Content-Length.
        body: new Blob([text]).stream(),
        duplex: 'half',
      } as RequestInit);
    const large = await chunked(body(1_000_001));
    expect(large.status).toBe(413);
    expect((await large.json()).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    const small = await chunked(body(900_000));
    expect(small.status).toBe(200);
    expect((await small.json()).data.apps).toBeInstanceOf(Array);
  });

  it('refuses requests a browser could forge cross-site (CSRF), and serves JSON clients', async () => {
    const query = JSON.stringify({ query: '{ apps { id } }' });
    const forged = await post(query, { 'content-type': 'text/plain' });
    expect(forged.status).toBe(403);
    expect((await forged.json()).errors[0].message).toBe('Required CSRF header(s) not present');
    expect(
      (await fetch(`${stack.url}/graphql?query=${encodeURIComponent('{ apps { id } }')}`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).status,
    ).toBe(403);
    const withHeader = await fetch(`${stack.url}/graphql?query=${encodeURIComponent('{ apps { id } }')}`, {
      headers: { authorization: `Bearer ${stack.adminToken}`, 'x-graphql-csrf': '1' },
    });
    expect(withHeader.status).toBe(200);
    expect((await post(query, { 'content-type': 'application/json' })).status).toBe(200);
  });

  it('introspection can be switched off (GRAPHQL_INTROSPECTION=false, the production default)', async () => {
    const closed = await startTestStack({ role: 'api', config: { graphqlIntrospection: false } });
    try {
      const refused = await closed.gql(`{ __schema { queryType { name } } }`);
      expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
      expect((await closed.gql(`{ apps { id } }`)).errors).toBeUndefined();
    } finally {
      await closed.stop();
    }
    expect((await stack.gql(`{ __schema { queryType { name } } }`)).data.__schema.queryType.name).toBe('Query');
  });

  it('answers the standard introspection query (GraphiQL, codegen tools), deeper than 12 levels, and refuses introspection cycles', async () => {
    const full = await stack.gql(
      getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
        oneOf: true,
      }),
    );
    expect(full.errors).toBeUndefined();
    expect(printSchema(lexicographicSortSchema(buildClientSchema(full.data)))).toBe(printSchema(lexicographicSortSchema(schema)));
    const cycle = await stack.gql(`{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`);
    expect(cycle.errors?.[0]?.message).toMatch(/maximum introspection depth exceeded/i);
    const wide = await stack.gql(`{ ${Array.from({ length: 200 }, (_, i) => `a${i}: __schema { queryType { name } }`).join(' ')} }`);
    expect(wide.errors?.[0]).toMatchObject({
      message: 'operation selects more than 500 introspection fields; the limit is 500',
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
  });
});

describe('subscriptions', () => {
  it('segmentChanged with since replays what was missed, then continues live, with no gap and no duplicate', async () => {
    const app = await newApp('since');
    const before = new Date().toISOString();
    const start = async (userId: string) => stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } });
    await start('missed-1');
    await start('missed-2');
    await eventually(async () =>
      (await stack.gql(`query($a: ID!) { segments(appId: $a) { key trials } }`, { a: app.app.id })).data.segments.find(
        (s: { key: string }) => s.key === 'exploring',
      ).trials === 2
        ? true
        : undefined,
    );

    const live = collect<{ segmentChanged: { id: string; trial: { userId: string } } }>(
      stack.ws(app.apiKey),
      `subscription($a: ID!, $s: String) { segmentChanged(appId: $a, since: $s) { id trial { userId } } }`,
      { a: app.app.id, s: before },
    );
    const replayed = await live.next(2);
    expect(replayed.map((event) => event.segmentChanged.trial.userId).sort()).toEqual(['missed-1', 'missed-2']);
    await start('live-1');
    const all = await live.next(3);
    expect(all[2]!.segmentChanged.trial.userId).toBe('live-1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(new Set(live.events.map((event) => event.segmentChanged.id)).size).toBe(live.events.length);
    expect(live.events).toHaveLength(3);
    live.dispose();

    const bad = collect(
      stack.ws(app.apiKey),
      SEGMENT_CHANGED.replace('$trialId: ID)', '$trialId: ID, $since: String)').replace('trialId: $trialId)', 'trialId: $trialId, since: $since)'),
      { appId: app.app.id, since: 'yesterday' },
    );
    await expect(bad.next(1, 3000)).rejects.toThrow(/yesterday.{0,4} is not an ISO-8601 time/);
  });

  it('deliveryAttemptRecorded shows each attempt to the endpoint as it is recorded', async () => {
    const app = await newApp('attempts');
    const hook = await new Receiver().script({ status: 503 }).start();
    try {
      const created = await stack.gql(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }`, {
        i: { appId: app.app.id, url: hook.url },
      });
      const endpointId = created.data.createWebhookEndpoint.endpoint.id;
      const live = collect<{ deliveryAttemptRecorded: { deliveryId: string; statusCode: number } }>(
        stack.ws(app.apiKey),
        `subscription($e: ID!) { deliveryAttemptRecorded(endpointId: $e) { deliveryId statusCode } }`,
        { e: endpointId },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { message } } }`, { e: endpointId });
      await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { errors { message } } }`, { e: endpointId });
      const events = await live.next(2);
      expect(events.map((event) => event.deliveryAttemptRecorded.statusCode)).toEqual([503, 200]);
      expect(events[0]!.deliveryAttemptRecorded.deliveryId).toBe(hook.requests[0]!.headers['webhook-id']);
      live.dispose();

      const other = await newApp('other');
      const forbidden = collect(stack.ws(other.apiKey), `subscription($e: ID!) { deliveryAttemptRecorded(endpointId: $e) { deliveryId } }`, { e: endpointId });
      await expect(forbidden.next(1, 3000)).rejects.toThrow(/no webhook endpoint/);
    } finally {
      await hook.stop();
    }
  });
});
