/**
 * Account trials (B2B workspaces), through the public routes with real clients: Segment's
 * `@segment/analytics-node` (group, track with context.groupId), a Stripe event signed by the
 * `stripe` package, webhooks verified with `standardwebhooks` on a loopback receiver.
 */
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountReachedAha, accountsOfEvent, trialWorkflowId } from '../src/core/account-rules.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { holdMessageId } from './support/held-write.ts';
import { CREATE_APP, CREATE_ENDPOINT, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const STRIPE_SECRET = 'whsec_accounts';

let stack: TestStack;
const receivers: Receiver[] = [];
const clients: Analytics[] = [];
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.closeAndFlush({ timeout: 2000 })));
  await Promise.all(receivers.map((receiver) => receiver.stop()));
  await stack?.stop();
});

const ACCOUNT_TRIAL = /* GraphQL */ `
  query AccountTrial($appId: ID!, $accountId: String!) {
    trial(appId: $appId, accountId: $accountId) {
      id
      kind
      userId
      accountId
      email
      segment
      workflowId
      account {
        id
        name
        traits
        memberCount
        members(first: 10) {
          edges {
            node {
              userId
              email
              aha
            }
          }
        }
      }
      changes {
        oldSegment
        newSegment
        reason
      }
    }
  }
`;

interface Setup {
  app: CreatedApp;
  hook: Receiver;
  secret: string;
  analytics: Analytics;
}

/** An app with its settings, a receiver endpoint for segment changes, and a Segment client pointed at this host. */
async function b2bApp(settings: Record<string, unknown> = {}): Promise<Setup> {
  const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'b2b' })).data!.createApp;
  const saved = await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { field message } } }`, {
    i: { appId: app.app.id, ahaEvents: ['Report Viewed'], conversionEvents: ['Order Completed'], ...settings },
  });
  expect(saved.data.updateSegmentSettings.errors).toEqual([]);
  const hook = await new Receiver().start();
  receivers.push(hook);
  const endpoint = (await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url } })).data.createWebhookEndpoint.endpoint;
  const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, path: '/v1/batch', flushAt: 1, maxRetries: 0 });
  clients.push(analytics);
  return { app, hook, secret: endpoint.secret, analytics };
}

/** Sends through the client and waits until Segment's library has delivered it (a 200 from here). */
function sent(call: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((error) => (error ? reject(error) : resolve())));
}

const group = (s: Setup, userId: string, groupId: string, traits: Record<string, unknown>) =>
  sent((done) => s.analytics.group({ userId, groupId, traits }, done));
const track = (s: Setup, userId: string, event: string, groupId?: string) =>
  sent((done) => s.analytics.track({ userId, event, ...(groupId ? { context: { groupId } } : {}) }, done));
const identify = (s: Setup, userId: string, traits: Record<string, unknown>) => sent((done) => s.analytics.identify({ userId, traits }, done));

async function accountTrial(s: Setup, accountId: string) {
  return (await stack.gql(ACCOUNT_TRIAL, { appId: s.app.app.id, accountId })).data.trial;
}

const segmentOf = (s: Setup, accountId: string, segment: string) =>
  eventually(async () => ((await accountTrial(s, accountId))?.segment === segment ? true : undefined), 15_000);

/** The webhooks the receiver got for one account, verified and parsed. */
function webhooksOf(s: Setup, accountId: string) {
  const verifier = new Webhook(s.secret);
  return s.hook.requests
    .map((request) =>
      verifier.verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }),
    )
    .filter((body) => (body as { trial?: { account_id?: string } }).trial?.account_id === accountId) as Array<{
    new_segment: string;
    reason: string;
    trial: Record<string, unknown>;
  }>;
}

describe('account rules (pure)', () => {
  it('an event naming an account counts for it alone; one naming none, for every account of its user', () => {
    expect(accountsOfEvent('acme', ['acme', 'globex'])).toEqual(['acme']);
    expect(accountsOfEvent(null, ['acme', 'globex'])).toEqual(['acme', 'globex']);
    expect(accountsOfEvent('initech', [])).toEqual(['initech']);
  });

  it('the account reaches aha once enough members did; a user and an account spelled alike never share a workflow', () => {
    expect([0, 1, 2].map((members) => accountReachedAha(members, 2))).toEqual([false, false, true]);
    expect(accountReachedAha(1, 0)).toBe(true);
    expect(trialWorkflowId('app_1', { kind: 'user', userId: 'same' })).not.toBe(trialWorkflowId('app_1', { kind: 'account', accountId: 'same' }));
  });
});

describe('account trials through the public routes', () => {
  it('a group call with trial traits starts the account trial; members, traits and the team are in the webhook', async () => {
    const s = await b2bApp();
    await identify(s, 'ada', { email: 'ada@acme.test' });
    await group(s, 'ada', 'acme', { name: 'Acme', plan: 'team', trial_end: '2099-01-01T00:00:00Z' });
    await group(s, 'bob', 'acme', { plan: 'enterprise' });
    await segmentOf(s, 'acme', 'exploring');

    const trial = await accountTrial(s, 'acme');
    expect(trial).toMatchObject({ kind: 'account', userId: null, accountId: 'acme', email: null, workflowId: `account-trial:${s.app.app.id}:acme` });
    expect(trial.account).toMatchObject({ id: 'acme', name: 'Acme', memberCount: 2 });
    // Latest wins, key by key.
    expect(JSON.parse(trial.account.traits)).toMatchObject({ name: 'Acme', plan: 'enterprise', trial_end: '2099-01-01T00:00:00Z' });
    expect(trial.account.members.edges.map((edge: { node: { userId: string } }) => edge.node.userId).sort()).toEqual(['ada', 'bob']);
    // No person trial was started by the group call.
    expect((await stack.gql(`query($a: ID!) { trial(appId: $a, userId: "ada") { id } }`, { a: s.app.app.id })).data.trial).toBeNull();

    await track(s, 'ada', 'Report Viewed', 'acme');
    await segmentOf(s, 'acme', 'found_value');
    // The account's aha is marked on its trial, found by the account (not the member's own trial, which has none).
    await eventually(async () =>
      (await stack.count(`select count(*) as n from trials where app_id = $1 and account_id = 'acme' and aha_reached_at is not null`, [s.app.app.id])) === 1
        ? true
        : undefined,
    );
    const bodies = await eventually(async () => {
      const found = webhooksOf(s, 'acme');
      return found.some((body) => body.new_segment === 'found_value') ? found : undefined;
    });
    const moved = bodies.find((body) => body.new_segment === 'found_value')!;
    expect(moved.reason).toBe('aha_event_received');
    expect(moved.trial).toMatchObject({ user_id: null, email: null, account_id: 'acme', account_name: 'Acme', member_count: 2 });
    const members = moved.trial.members as Array<{ user_id: string; email: string | null; aha: boolean; last_active_at: string }>;
    expect(members.map((member) => member.user_id).sort()).toEqual(['ada', 'bob']);
    expect(members.find((member) => member.user_id === 'ada')).toMatchObject({
      aha: true,
      email: 'ada@acme.test',
      last_active_at: expect.stringMatching(/Z$/),
    });
    expect(members.find((member) => member.user_id === 'bob')!.aha).toBe(false);
  });

  it('an event tagged with one account never moves another account its sender belongs to; an untagged one counts for both', async () => {
    const s = await b2bApp();
    for (const account of ['north', 'south']) await group(s, 'carol', account, { name: account, trial_end: '2099-01-01T00:00:00Z' });
    await segmentOf(s, 'north', 'exploring');
    await segmentOf(s, 'south', 'exploring');
    await track(s, 'carol', 'Report Viewed', 'north');
    await segmentOf(s, 'north', 'found_value');
    // Long enough for a wrongly attributed aha to have moved the other account.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await accountTrial(s, 'south')).segment).toBe('exploring');
    expect(webhooksOf(s, 'south').map((body) => body.new_segment)).toEqual(['exploring']);

    await track(s, 'carol', 'Report Viewed');
    await segmentOf(s, 'south', 'found_value');
  });

  it("accountAhaMembers: 2 moves the account to found_value at the second person's aha, not the first", async () => {
    const s = await b2bApp({ accountAhaMembers: 2 });
    await group(s, 'dan', 'duo', { name: 'Duo', trial_end: '2099-01-01T00:00:00Z' });
    await group(s, 'eve', 'duo', {});
    await segmentOf(s, 'duo', 'exploring');
    await track(s, 'dan', 'Report Viewed', 'duo');
    // Dan's aha is recorded as his, and the account stays exploring.
    await eventually(async () => {
      const members = (await accountTrial(s, 'duo')).account.members.edges.map((edge: { node: { userId: string; aha: boolean } }) => edge.node);
      return members.find((member: { userId: string; aha: boolean }) => member.userId === 'dan')?.aha ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await accountTrial(s, 'duo')).segment).toBe('exploring');
    // The settings preview knows what a lower bar would do (nothing saved).
    const preview = await stack.gql(
      `query($i: UpdateSegmentSettingsInput!) { previewSegmentSettings(input: $i) { moves { from to trials sample } errors { message } } }`,
      { i: { appId: s.app.app.id, accountAhaMembers: 1 } },
    );
    expect(preview.data.previewSegmentSettings).toEqual({ moves: [{ from: 'exploring', to: 'found_value', trials: 1, sample: ['duo'] }], errors: [] });
    await track(s, 'eve', 'Report Viewed', 'duo');
    await segmentOf(s, 'duo', 'found_value');
    expect((await accountTrial(s, 'duo')).changes.map((change: { newSegment: string }) => change.newSegment)).toEqual(['exploring', 'found_value']);
  });

  it('a team goes quiet only when every member is quiet: one gone_quiet webhook, after the last member stopped', async () => {
    const s = await b2bApp({ inactivityAfter: 'PT4S' });
    await group(s, 'fay', 'quiet-co', { name: 'Quiet Co', trial_end: '2099-01-01T00:00:00Z' });
    await group(s, 'gus', 'quiet-co', {});
    await segmentOf(s, 'quiet-co', 'exploring');
    // Fay stops now; Gus keeps going for a few seconds more (untagged events count for his account too).
    await track(s, 'fay', 'Clicked', 'quiet-co');
    const fayStopped = Date.now();
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await track(s, 'gus', 'Clicked');
    }
    const gusStopped = Date.now();
    await segmentOf(s, 'quiet-co', 'gone_quiet');
    const quietAt = Date.now();
    expect(quietAt - fayStopped).toBeGreaterThan(4000 + 4000);
    expect(quietAt - gusStopped).toBeGreaterThanOrEqual(3500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(webhooksOf(s, 'quiet-co').filter((body) => body.new_segment === 'gone_quiet')).toHaveLength(1);
    expect(webhooksOf(s, 'quiet-co').find((body) => body.new_segment === 'gone_quiet')!.reason).toBe('inactivity');
  });

  it('a Trial Started track with context.groupId and startTrial(accountId) start account trials; exactly one of userId and accountId', async () => {
    const s = await b2bApp();
    await track(s, 'hal', 'Trial Started', 'tracked-co');
    await segmentOf(s, 'tracked-co', 'exploring');
    expect((await accountTrial(s, 'tracked-co')).account.memberCount).toBe(1);

    const START = `mutation($i: StartTrialInput!) { startTrial(input: $i) { trial { kind accountId userId } errors { field message code } } }`;
    const started = await stack.gql(START, { i: { appId: s.app.app.id, accountId: 'api-co', trialEnd: '2099-01-01T00:00:00Z' } });
    expect(started.data.startTrial).toEqual({ trial: { kind: 'account', accountId: 'api-co', userId: null }, errors: [] });
    await segmentOf(s, 'api-co', 'exploring');
    const both = await stack.gql(START, { i: { appId: s.app.app.id, accountId: 'x', userId: 'y' } });
    expect(both.data.startTrial.errors).toEqual([{ field: 'userId', message: expect.stringMatching(/exactly one/), code: 'INVALID' }]);
    const neither = await stack.gql(START, { i: { appId: s.app.app.id } });
    expect(neither.data.startTrial.errors[0]).toMatchObject({ field: 'userId', code: 'INVALID' });
    // A person and an account spelled alike are two trials.
    const person = await stack.gql(START, { i: { appId: s.app.app.id, userId: 'api-co', trialEnd: '2099-01-01T00:00:00Z' } });
    expect(person.data.startTrial.trial).toEqual({ kind: 'user', accountId: null, userId: 'api-co' });
    const kinds = await stack.gql(`query($a: ID!) { accounts: trials(appId: $a, kind: account) { edges { node { accountId } } } }`, { a: s.app.app.id });
    expect(kinds.data.accounts.edges.map((edge: { node: { accountId: string } }) => edge.node.accountId).sort()).toEqual(['api-co', 'tracked-co']);
    // Commands name the account.
    const converted = await stack.gql(`mutation($i: ConvertTrialInput!) { convertTrial(input: $i) { trial { segment } errors { message } } }`, {
      i: { appId: s.app.app.id, accountId: 'api-co' },
    });
    expect(converted.data.convertTrial).toEqual({ trial: { segment: 'converted' }, errors: [] });
  });

  it.each([
    { tagged: true, ownTrial: false, accountId: 'straddle-co' },
    { tagged: false, ownTrial: false, accountId: 'straddle-untagged-co' },
    { tagged: false, ownTrial: true, accountId: 'straddle-own-trial-co' },
  ])(
    "a member's aha whose write straddled the account trial's start still counts for the account (event naming it: $tagged, the member's own trial: $ownTrial)",
    async ({ tagged, ownTrial, accountId }) => {
      // The member's event and the call starting the account's trial in flight together: see ingest.test.ts. An event
      // naming no account counts for the accounts its sender is a member of (here by an earlier group call). A member
      // with a trial of their own: the write sees that trial, and not the account's.
      const s = await b2bApp();
      if (!tagged) await group(s, 'jo', accountId, { name: 'Untagged' });
      const START = `mutation($i: StartTrialInput!) { startTrial(input: $i) { errors { message } } }`;
      if (ownTrial) {
        const own = await stack.gql(START, { i: { appId: s.app.app.id, userId: 'jo', trialEnd: '2099-01-01T00:00:00Z' } });
        expect(own.data.startTrial.errors).toEqual([]);
      }
      const held = await holdMessageId(stack.databaseUrl, s.app.app.id, `straddling-${accountId}`);
      try {
        const viewed = sent((done) =>
          s.analytics.track(
            { userId: 'jo', event: 'Report Viewed', ...(tagged ? { context: { groupId: accountId } } : {}), messageId: `straddling-${accountId}` },
            done,
          ),
        );
        await held.waiting();
        const started = await stack.gql(START, { i: { appId: s.app.app.id, accountId, trialEnd: '2099-01-01T00:00:00Z' } });
        expect(started.data.startTrial.errors).toEqual([]);
        await segmentOf(s, accountId, 'exploring');
        await held.release();
        await viewed;
      } finally {
        await held.release();
      }
      await segmentOf(s, accountId, 'found_value');
      const trial = await accountTrial(s, accountId);
      expect(trial.account.members.edges.map((edge: { node: unknown }) => edge.node)).toEqual([{ userId: 'jo', email: null, aha: true }]);
    },
  );

  it('Usermaven s2s company joins the account, and a conversion event from any member converts it', async () => {
    const s = await b2bApp();
    await group(s, 'ivy', 'umbrella', { trial_end: '2099-01-01T00:00:00Z' });
    await segmentOf(s, 'umbrella', 'exploring');
    const response = await fetch(`${stack.url}/api/v1/s2s/event?token=${s.app.writeKey}.${s.app.serverToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: s.app.writeKey, event_type: 'Order Completed', user: { id: 'jon' }, company: { id: 'umbrella', name: 'Umbrella Corp' } }),
    });
    expect(response.status).toBe(200);
    await segmentOf(s, 'umbrella', 'converted');
    const trial = await accountTrial(s, 'umbrella');
    expect(trial.account).toMatchObject({ name: 'Umbrella Corp', memberCount: 2 });
  });

  it('a Stripe subscription with metadata.account_id starts the account trial and converts it', async () => {
    const s = await b2bApp();
    await stack.gql(`mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }`, {
      i: { appId: s.app.app.id, stripeSigningSecret: STRIPE_SECRET },
    });
    const stripe = new Stripe('sk_test_unused');
    const send = async (type: string, status: string, previous?: object) => {
      const payload = JSON.stringify({
        id: `evt_${Math.random().toString(36).slice(2)}`,
        object: 'event',
        type,
        data: {
          object: { id: 'sub_acct', object: 'subscription', customer: 'cus_Team', status, metadata: { account_id: 'stripe-co' }, trial_end: 4_070_908_800 },
          ...(previous ? { previous_attributes: previous } : {}),
        },
      });
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
      const answer = await fetch(`${stack.url}/hooks/stripe/${s.app.app.id}`, { method: 'POST', headers: { 'stripe-signature': header }, body: payload });
      expect(answer.status).toBe(200);
    };
    await send('customer.subscription.created', 'trialing');
    await segmentOf(s, 'stripe-co', 'exploring');
    await send('customer.subscription.updated', 'active', { status: 'trialing' });
    await segmentOf(s, 'stripe-co', 'converted');
    const converted = await eventually(async () => webhooksOf(s, 'stripe-co').find((body) => body.new_segment === 'converted'));
    expect(converted.trial).toMatchObject({ account_id: 'stripe-co', stripe_customer_id: 'cus_Team', user_id: null });
  });

  it("RudderStack's Node SDK and the Segment Webhooks receiver carry group calls too; anonymous events stitched later count for the user's accounts", async () => {
    const s = await b2bApp();
    const rudder = new RudderAnalytics(s.app.writeKey, { dataPlaneUrl: stack.url, flushAt: 1, flushInterval: 100, retryCount: 0, logLevel: 'error' });
    rudder.group({ userId: 'nia', groupId: 'rudder-co', traits: { name: 'Rudder Co', trial_end: '2099-01-01T00:00:00Z' } });
    await new Promise<void>((resolve, reject) => rudder.flush((error?: unknown) => (error ? reject(error) : resolve())));
    await segmentOf(s, 'rudder-co', 'exploring');
    const hooked = await fetch(`${stack.url}/hooks/segment/${s.app.writeKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'group', userId: 'oli', groupId: 'rudder-co', traits: { plan: 'team' } }),
    });
    expect(hooked.status).toBe(200);
    expect((await accountTrial(s, 'rudder-co')).account).toMatchObject({ name: 'Rudder Co', memberCount: 2 });
    expect(JSON.parse((await accountTrial(s, 'rudder-co')).account.traits)).toMatchObject({ plan: 'team' });
    // Oli's aha came before he was known (an anonymous id); identify links it to him, and his account moves.
    await sent((done) => s.analytics.track({ anonymousId: 'anon-oli', event: 'Report Viewed' }, done));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await accountTrial(s, 'rudder-co')).segment).toBe('exploring');
    await sent((done) => s.analytics.identify({ userId: 'oli', anonymousId: 'anon-oli', traits: { email: 'oli@rudder.test' } }, done));
    await segmentOf(s, 'rudder-co', 'found_value');
  });

  it("a deleted person leaves the account's members and the member lists of its stored webhooks", async () => {
    const s = await b2bApp();
    await identify(s, 'kim', { email: 'kim@erase.test' });
    await group(s, 'kim', 'erase-co', { trial_end: '2099-01-01T00:00:00Z' });
    await group(s, 'lee', 'erase-co', {});
    await segmentOf(s, 'erase-co', 'exploring');
    const bodiesOf = async () =>
      (
        await stack.sql(`select body from webhook_deliveries d join trials t on t.id = d.trial_id where t.account_id = 'erase-co' and t.app_id = $1`, [
          s.app.app.id,
        ])
      ).map((row: { body: string }) => row.body);
    // Kim is in the team of the webhooks stored so far.
    await eventually(async () => ((await bodiesOf()).some((body) => body.includes('kim@erase.test')) ? true : undefined));
    const deleted = await fetch(`${stack.url}/hooks/segment/${s.app.writeKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'delete', userId: 'kim' }),
    });
    expect(deleted.status).toBe(200);
    const trial = await accountTrial(s, 'erase-co');
    expect(trial.account.members.edges.map((edge: { node: { userId: string } }) => edge.node.userId)).toEqual(['lee']);
    const stored = await bodiesOf();
    expect(stored.length).toBeGreaterThan(0);
    for (const body of stored) {
      expect(body).not.toContain('kim');
      expect(JSON.parse(body).trial.members.every((member: { user_id: string }) => member.user_id === 'lee')).toBe(true);
    }
  });
});
