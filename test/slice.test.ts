import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, SEGMENT_CHANGED, START_TRIAL, TRIAL, type CreatedApp } from './support/operations.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

async function createApp(name: string): Promise<CreatedApp> {
  const { data } = await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name });
  return data!.createApp;
}

describe('createApp → startTrial → workflow records exploring → query and subscription', () => {
  it('records the first segment in PostgreSQL through the workflow and streams it live', async () => {
    const created = await createApp('Acme');
    expect(created.app.id).toMatch(/^app_/);
    expect(created.writeKey).toMatch(/^wk_/);
    expect(created.apiKey).toMatch(/^tck_/);

    // Subscribe with the app's own key before the trial starts, so the first change arrives live.
    const live = collect<{ segmentChanged: any }>(stack.ws(created.apiKey), SEGMENT_CHANGED, { appId: created.app.id });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const started = await stack.gql(START_TRIAL, {
      input: { appId: created.app.id, userId: 'usr_8a3f4b', email: 'alex@example.com', trialEnd: '2099-01-01T00:00:00Z' },
    });
    expect(started.data.startTrial.errors).toEqual([]);
    expect(started.data.startTrial.trial.userId).toBe('usr_8a3f4b');

    const [event] = await live.next(1);
    expect(event!.segmentChanged).toMatchObject({
      sequence: 1,
      oldSegment: null,
      newSegment: 'exploring',
      reason: 'trial_started',
      trial: { userId: 'usr_8a3f4b', email: 'alex@example.com' },
    });

    const trial = await eventually(async () => {
      const { data } = await stack.gql(TRIAL, { appId: created.app.id, userId: 'usr_8a3f4b' }, created.apiKey);
      return data.trial.segment === 'exploring' ? data.trial : undefined;
    });
    expect(trial).toMatchObject({ email: 'alex@example.com', trialEnd: '2099-01-01T00:00:00.000Z' });
  });

  it('starting the same trial twice keeps one trial and one first segment', async () => {
    const created = await createApp('Twice');
    const input = { appId: created.app.id, userId: 'u1', trialEnd: '2099-01-01T00:00:00Z' };
    const first = await stack.gql(START_TRIAL, { input });
    const second = await stack.gql(START_TRIAL, { input });
    expect(second.data.startTrial.trial.id).toBe(first.data.startTrial.trial.id);
    await eventually(async () => {
      const { data } = await stack.gql(TRIAL, { appId: created.app.id, userId: 'u1' });
      return data.trial.segment ?? undefined;
    });
    expect(await stack.count('select count(*) as n from segment_changes where trial_id = $1', [first.data.startTrial.trial.id])).toBe(1);
  });

  it('rejects bad trial input as data naming the field', async () => {
    const created = await createApp('Bad input');
    const { data } = await stack.gql(START_TRIAL, {
      input: { appId: created.app.id, userId: '', email: 'not-an-email', trialStart: '2025-02-28T00:00:00Z', trialEnd: '2025-02-14T00:00:00Z' },
    });
    expect(data.startTrial.trial).toBeNull();
    expect(data.startTrial.errors.map((error: { field: string }) => error.field).sort()).toEqual(['email', 'trialEnd', 'userId']);
  });

  it('rejects a DateTime that is not ISO-8601 with a message that says so', async () => {
    const created = await createApp('Bad date');
    const response = await stack.gql(START_TRIAL, { input: { appId: created.app.id, userId: 'u', trialEnd: 'next tuesday' } });
    expect(response.errors?.[0]?.message).toMatch(/ISO-8601/);
  });
});

describe('tenancy', () => {
  it('an app key cannot read, start or subscribe to another app; anonymous callers are refused', async () => {
    const a = await createApp('Tenant A');
    const b = await createApp('Tenant B');

    const read = await stack.gql(TRIAL, { appId: b.app.id, userId: 'x' }, a.apiKey);
    expect(read.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const start = await stack.gql(START_TRIAL, { input: { appId: b.app.id, userId: 'x' } }, a.apiKey);
    expect(start.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const create = await stack.gql(CREATE_APP, { name: 'sneaky' }, a.apiKey);
    expect(create.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const anonymous = await stack.gql(TRIAL, { appId: a.app.id, userId: 'x' }, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const subscription = collect(stack.ws(a.apiKey), SEGMENT_CHANGED, { appId: b.app.id });
    await expect(subscription.next(1, 3000)).rejects.toThrow(/cannot access app/);
  });

  it('closes a WebSocket whose connection_init carries no valid token', async () => {
    const closed = await new Promise<number>((resolve) => {
      const client = stack.ws('tck_not_a_key');
      client.on('closed', (event) => resolve((event as { code: number }).code));
    });
    expect(closed).toBe(4403);
  });

  it('authenticates each operation by its own headers on a connection without credentials, as GraphiQL sends them', async () => {
    const [app, other] = [await createApp('headers'), await createApp('not-yours')];
    const client = stack.ws(null);
    const refused = collect(client, SEGMENT_CHANGED, { appId: app.app.id });
    await expect(refused.next(1, 3000)).rejects.toThrow(/missing or unknown bearer token/);
    const headers = { headers: { Authorization: `Bearer ${app.apiKey}` } };
    const notYours = collect(client, SEGMENT_CHANGED, { appId: other.app.id }, headers);
    await expect(notYours.next(1, 3000)).rejects.toThrow(/cannot access app/);
    const live = collect<{ segmentChanged: { newSegment: string } }>(client, SEGMENT_CHANGED, { appId: app.app.id }, headers);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'graphiql-user', trialEnd: '2099-01-01T00:00:00Z' } });
    expect((await live.next(1))[0]!.segmentChanged.newSegment).toBe('exploring');
  });

  it('closes a connection without credentials on which no operation authenticated within 10 s', async () => {
    const opened = performance.now();
    const closed = await new Promise<number>((resolve) => stack.ws(null).on('closed', (event) => resolve((event as { code: number }).code)));
    expect(closed).toBe(4403);
    expect(performance.now() - opened).toBeGreaterThan(9_000);
  }, 20_000);
});
