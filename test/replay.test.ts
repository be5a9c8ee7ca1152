/**
 * Determinism guard: recorded lifecycle histories (committed under test/fixtures/histories)
 * replay against the current workflow code. A change that is not deterministic, or that
 * changes the commands of already-running workflows without patching, fails here.
 *
 * `RECORD_HISTORY=1 RECORD_HISTORY_NAME=x.json npx vitest run test/replay.test.ts` records a fresh one through
 * the real stack. Keep the old ones: they are what running workflows look like.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { activitySignal } from '../src/core/trial-lifecycle.messages.ts';
import { eventually, startTestStack } from './support/harness.ts';
import { CREATE_APP, START_TRIAL } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const FIXTURES = new URL('./fixtures/histories/', import.meta.url);
const REPLAY = new URL('../src/temporal/replay.ts', import.meta.url).pathname;

/** A workflow's history as the CLI's JSON (the format the Temporal UI downloads). */
const historyJson = (workflowId: string) =>
  execFileSync(inject('temporalCli'), ['workflow', 'show', '--workflow-id', workflowId, '--address', inject('temporalAddress'), '--output', 'json']);

/** Runs the replay tool in plain Node, as an operator would. */
function replay(files: string[]): { code: number; output: string } {
  const result = spawnSync(process.execPath, [REPLAY, ...files], {
    env: { ...process.env, WORKFLOW_BUNDLE: inject('workflowBundlePath') },
    encoding: 'utf8',
  });
  return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

describe('workflow replay', () => {
  it('every recorded history replays against the current workflow code', async () => {
    const files = (await readdir(FIXTURES)).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    const { code, output } = replay(files.map((name) => new URL(name, FIXTURES).pathname));
    expect(output.trim().split('\n').sort()).toEqual(files.map((name) => `ok ${name}`).sort());
    expect(code).toBe(0);
  });

  it('a history that does not match the code is reported as diverged', async () => {
    const recorded = JSON.parse(await readFile(new URL('trial-lifecycle-full.json', FIXTURES), 'utf8'));
    // The history says the first activity was a different one than the code schedules.
    const events = recorded.events as Array<{ eventType: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }>;
    events.find((event) => event.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')!.activityTaskScheduledEventAttributes!.activityType.name = 'somethingElse';
    const file = join(await mkdtemp(join(tmpdir(), 'replay-')), 'tampered.json');
    await writeFile(file, JSON.stringify(recorded));
    const { code, output } = replay([file]);
    expect(code).toBe(1);
    expect(output).toMatch(/^DIVERGED tampered\.json: /m);
  });

  it('a fresh history with webhooks behind the transitions, an early aha and a conversion replays against the code', async () => {
    const stack = await startTestStack();
    const hook = await new Receiver().script({ status: 200, delayMs: 400 }, { status: 500 }, { status: 200, delayMs: 300 }).start();
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const created = (await stack.gql(CREATE_APP, { name: 'fresh' })).data.createApp;
      await stack.gql(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { errors { message } } }`, {
        i: { appId: created.app.id, url: hook.url, eventTypes: ['*'], retrySchedule: ['PT0S', 'PT0.5S'] },
      });
      await stack.gql(START_TRIAL, { input: { appId: created.app.id, userId: 'fresh', trialEnd: '2099-01-01T00:00:00Z' } });
      const handle = new Client({ connection }).workflow.getHandle(`trial:${created.app.id}:fresh`);
      // The aha arrives while the first change's webhooks are still being sent.
      await handle.signal(activitySignal, { at: new Date().toISOString(), aha: true });
      await eventually(async () =>
        (await stack.gql(`query($a: ID!) { trial(appId: $a, userId: "fresh") { segment } }`, { a: created.app.id })).data.trial?.segment === 'found_value'
          ? true
          : undefined,
      );
      await stack.gql(`mutation($a: ID!) { convertTrial(input: {appId: $a, userId: "fresh"}) { errors { message } } }`, { a: created.app.id });
      await eventually(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 20_000);
      const json = historyJson(handle.workflowId);
      const file = join(await mkdtemp(join(tmpdir(), 'replay-')), 'fresh.json');
      await writeFile(file, json);
      const { code, output } = replay([file]);
      expect(output.trim()).toBe('ok fresh.json');
      expect(code).toBe(0);
    } finally {
      await connection.close();
      await hook.stop();
      await stack.stop();
    }
  }, 60_000);

  it.runIf(process.env.RECORD_HISTORY === '1')(
    "records an account trial's history: two members, a second aha needed, the bar lowered by a settings change, a member's conversion",
    async () => {
      const stack = await startTestStack();
      try {
        const created = (await stack.gql(CREATE_APP, { name: 'recorded-account' })).data.createApp;
        const settings = (input: Record<string, unknown>) =>
          stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
            i: { appId: created.app.id, ...input },
          });
        await settings({ ahaEvents: ['Report Viewed'], conversionEvents: ['Order Completed'], accountAhaMembers: 2 });
        const send = (message: Record<string, unknown>) =>
          fetch(`${stack.url}/v1/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${created.writeKey}:`).toString('base64')}` },
            body: JSON.stringify({ batch: [message] }),
          });
        const state = async () =>
          (await stack.gql(`query($a: ID!) { trial(appId: $a, accountId: "acme") { segment } }`, { a: created.app.id })).data.trial?.segment;
        await send({ type: 'group', userId: 'ada', groupId: 'acme', traits: { name: 'Acme', trial_end: '2099-01-01T00:00:00Z' } });
        await send({ type: 'group', userId: 'bob', groupId: 'acme', traits: {} });
        await eventually(async () => ((await state()) === 'exploring' ? true : undefined));
        await send({ type: 'track', userId: 'ada', event: 'Report Viewed', context: { groupId: 'acme' } });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await settings({ accountAhaMembers: 1 });
        await eventually(async () => ((await state()) === 'found_value' ? true : undefined));
        await send({ type: 'track', userId: 'bob', event: 'Order Completed' });
        await eventually(async () => ((await state()) === 'converted' ? true : undefined));
        const json = historyJson(`account-trial:${created.app.id}:acme`);
        await writeFile(new URL('account-trial-lifecycle.json', FIXTURES), `${JSON.stringify(JSON.parse(json.toString()), null, 1)}\n`);
      } finally {
        await stack.stop();
      }
    },
    60_000,
  );

  it.runIf(process.env.RECORD_HISTORY === '1')(
    "records a person's trial moved by a new aha event it had already done (a settings change), and a throttled endpoint's lane",
    async () => {
      const stack = await startTestStack();
      const receiver = await new Receiver().start();
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      try {
        const created = (await stack.gql(CREATE_APP, { name: 'recorded-aha' })).data.createApp;
        const endpoint = await stack.gql(
          `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } errors { message } } }`,
          { i: { appId: created.app.id, url: receiver.url, maxPerSecond: 1 } },
        );
        const endpointId = endpoint.data.createWebhookEndpoint.endpoint.id as string;
        // Two trials at once through a throttle of 1/s: the second's first webhook waits in its lane for a slot.
        await Promise.all(
          ['did-it', 'other'].map((userId) => stack.gql(START_TRIAL, { input: { appId: created.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } })),
        );
        await receiver.waitFor(2, 20_000);
        await fetch(`${stack.url}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${created.writeKey}:`).toString('base64')}` },
          body: JSON.stringify({ batch: [{ type: 'track', userId: 'did-it', event: 'Invited Teammate' }] }),
        });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
          i: { appId: created.app.id, ahaEvents: ['Invited Teammate'] },
        });
        await eventually(async () =>
          (await stack.gql(`query($a: ID!) { trial(appId: $a, userId: "did-it") { segment } }`, { a: created.app.id })).data.trial?.segment === 'found_value'
            ? true
            : undefined,
        );
        await receiver.waitFor(3, 20_000);
        const aha = historyJson(`trial:${created.app.id}:did-it`);
        await writeFile(new URL('trial-aha-by-settings.json', FIXTURES), `${JSON.stringify(JSON.parse(aha.toString()), null, 1)}\n`);
        const lanes: string[] = [];
        for await (const lane of new Client({ connection }).workflow.list({ query: `WorkflowType = "webhookLane"` })) {
          if (lane.workflowId.startsWith(`webhooks:${endpointId}:`)) lanes.push(lane.workflowId);
        }
        expect(lanes.length).toBeGreaterThan(0);
        const lane = historyJson(lanes[0]!);
        await writeFile(new URL('webhook-lane-throttled.json', FIXTURES), `${JSON.stringify(JSON.parse(lane.toString()), null, 1)}\n`);
      } finally {
        await connection.close();
        await receiver.stop();
        await stack.stop();
      }
    },
    60_000,
  );

  it.runIf(process.env.RECORD_HISTORY === '1')(
    'records a full lifecycle history',
    async () => {
      const stack = await startTestStack();
      const connection = await Connection.connect({ address: inject('temporalAddress') });
      try {
        const created = (await stack.gql(CREATE_APP, { name: 'recorded' })).data.createApp;
        await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
          i: { appId: created.app.id, inactivityAfter: 'PT1S', endingSoonBefore: 'PT3S', lastChanceBefore: 'PT2S' },
        });
        await stack.gql(START_TRIAL, { input: { appId: created.app.id, userId: 'recorded', trialEnd: new Date(Date.now() + 60_000).toISOString() } });
        const handle = new Client({ connection }).workflow.getHandle(`trial:${created.app.id}:recorded`);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await handle.signal(activitySignal, { at: new Date().toISOString(), aha: true });
        await new Promise((resolve) => setTimeout(resolve, 500));
        await stack.gql(
          `mutation($a: ID!) { extendTrial(input: {appId: $a, userId: "recorded", trialEnd: "${new Date(Date.now() + 5000).toISOString()}"}) { errors { message } } }`,
          { a: created.app.id },
        );
        await eventually(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 15_000);
        const json = historyJson(handle.workflowId);
        await writeFile(
          new URL(process.env.RECORD_HISTORY_NAME ?? 'trial-lifecycle-recorded.json', FIXTURES),
          `${JSON.stringify(JSON.parse(json.toString()), null, 1)}\n`,
        );
      } finally {
        await connection.close();
        await stack.stop();
      }
    },
    60_000,
  );
});
