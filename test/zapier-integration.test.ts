/**
 * The Zapier integration in integrations/zapier, run by zapier-platform-core's own app tester
 * (as `zapier test` runs it) against a running Trialcast: the auth test, subscribing a Zap's
 * target URL, a move arriving there and read by the trigger, the samples shown while a Zap is
 * built, unsubscribing, and the "Start a trial" action.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEGMENT_KEYS } from '../src/core/segments.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, START_TRIAL, TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const require = createRequire(import.meta.url);
const zapier = require('zapier-platform-core');
// What `zapier validate` checks: the compiled app against Zapier's schema.
const { prepareApp, validateApp } = require('zapier-platform-core/src/tools/schema');
const App = require('../integrations/zapier/index.js');
const appTester = zapier.createAppTester(App);
const { SEGMENTS } = require('../integrations/zapier/segments.js');

let stack: TestStack;
let target: Receiver;
beforeAll(async () => {
  stack = await startTestStack();
  target = await new Receiver().start();
});
afterAll(async () => {
  await target?.stop();
  await stack?.stop();
});

const TRIAL_OF = `query($a: ID!, $userId: String, $accountId: String) { trial(appId: $a, userId: $userId, accountId: $accountId) { segment } }`;
const trigger = App.triggers.trial_moved.operation;

describe('the Zapier integration', () => {
  it("is a valid Zapier app, and offers exactly Trialcast's segments", () => {
    expect(validateApp(prepareApp(App))).toEqual([]);
    expect(Object.keys(SEGMENTS)).toEqual([...SEGMENT_KEYS]);
  });

  it('a Zap: the auth test, subscribe, a move into the chosen segment reaches the target and the trigger reads it, samples, unsubscribe', async () => {
    const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Zapped' })).data!.createApp;
    const authData = { base_url: stack.url, api_key: app.apiKey };

    expect(await appTester(App.authentication.test, { authData })).toEqual({ app: { id: app.app.id, name: 'Zapped' } });
    await expect(appTester(App.authentication.test, { authData: { ...authData, api_key: 'tc_wrong' } })).rejects.toThrow(/401/);

    // Before any move, performList still gives Zapier a record of the right shape.
    const [madeUp] = await appTester(trigger.performList, { authData, inputData: {} });
    expect(Object.keys(madeUp).sort()).toEqual(expect.arrayContaining(['user_id', 'new_segment', 'segment', 'reason', 'occurred_at']));

    const subscribeData = await appTester(trigger.performSubscribe, { authData, inputData: { segment: 'found_value' }, targetUrl: target.url });
    expect(subscribeData.id).toMatch(/^ep_/);

    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
    });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'zoe', email: 'zoe@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
    // Exploring first (an aha event before the trial's workflow looks would start it in found_value).
    await eventually(async () => ((await stack.gql(TRIAL, { appId: app.app.id, userId: 'zoe' })).data.trial?.segment === 'exploring' ? true : undefined));
    const track = await fetch(`${stack.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'zoe', event: 'Report Viewed' }),
    });
    expect(track.status).toBe(200);
    const [request] = await target.waitFor(1);
    // Entering exploring came first and was not what the Zap asked for: the one request is the move into found_value.
    const cleanedRequest = JSON.parse(request!.body);
    const [record] = await appTester(trigger.perform, { authData, inputData: { segment: 'found_value' }, cleanedRequest });
    expect(record).toMatchObject({ user_id: 'zoe', email: 'zoe@example.com', old_segment: 'exploring', new_segment: 'found_value', segment: 'found_value' });

    // The real move is now the sample Zapier shows.
    const samples = await appTester(trigger.performList, { authData, inputData: { segment: 'found_value' } });
    expect(samples[0]).toMatchObject({ user_id: 'zoe', segment: 'found_value' });

    expect(await appTester(trigger.performUnsubscribe, { authData, subscribeData })).toEqual({ deleted: subscribeData.id });
    expect((await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { id } }`, { a: app.app.id })).data.webhookEndpoints).toEqual([]);
    await stack.gql(`mutation($i: ConvertTrialInput!) { convertTrial(input: $i) { errors { message } } }`, { i: { appId: app.app.id, userId: 'zoe' } });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(target.requests).toHaveLength(1);
  });

  it("the action starts a person's or an account's trial, and says why one cannot start", async () => {
    const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Zap actions' })).data!.createApp;
    const authData = { base_url: stack.url, api_key: app.apiKey };
    const start = App.creates.start_trial.operation.perform;

    const person = await appTester(start, { authData, inputData: { user_id: 'zara', email: 'zara@example.com', trial_end: '2099-01-01T00:00:00Z' } });
    expect(person).toMatchObject({ id: expect.stringMatching(/^trl_/), userId: 'zara', email: 'zara@example.com', trialEnd: '2099-01-01T00:00:00.000Z' });
    const account = await appTester(start, { authData, inputData: { account_id: 'acme' } });
    expect(account).toMatchObject({ id: expect.stringMatching(/^trl_/), accountId: 'acme', userId: null });
    for (const subject of [{ userId: 'zara' }, { accountId: 'acme' }]) {
      await eventually(async () => ((await stack.gql(TRIAL_OF, { a: app.app.id, ...subject })).data.trial?.segment === 'exploring' ? true : undefined));
    }

    await expect(appTester(start, { authData, inputData: {} })).rejects.toThrow(/userId|accountId/);
    await expect(appTester(start, { authData: { ...authData, api_key: 'tc_wrong' }, inputData: { user_id: 'x' } })).rejects.toThrow(/401/);
  });
});
