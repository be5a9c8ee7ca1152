/**
 * The lifecycle workflow on the real Temporal dev server, with second-scale settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { activitySignal } from '../src/core/trial-lifecycle.messages.ts';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, SEGMENT_CHANGED, START_TRIAL, TRIAL, type CreatedApp } from './support/operations.ts';

let stack: TestStack;
let temporal: Client;
beforeAll(async () => {
  stack = await startTestStack();
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
});
afterAll(async () => {
  await temporal?.connection.close();
  await stack?.stop();
});

const UPDATE_SETTINGS = /* GraphQL */ `
  mutation Settings($input: UpdateSegmentSettingsInput!) {
    updateSegmentSettings(input: $input) {
      settings {
        ahaEvents
        conversionEvents
        inactivityAfter
        endingSoonBefore
        lastChanceBefore
      }
      errors {
        field
        message
        code
      }
    }
  }
`;
const TRIAL_COMMAND = (name: string, withEnd = false) => /* GraphQL */ `
  mutation Command($appId: ID!, $userId: String!${withEnd ? ', $trialEnd: DateTime!' : ''}) {
    ${name}(input: { appId: $appId, userId: $userId${withEnd ? ', trialEnd: $trialEnd' : ''} }) {
      trial { segment trialEnd }
      errors { field message code }
    }
  }
`;

type Change = { segmentChanged: { sequence: number; oldSegment: string | null; newSegment: string; reason: string; occurredAt: string } };

async function newApp(settings: Record<string, unknown>): Promise<CreatedApp> {
  const created = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'lifecycle' })).data!.createApp;
  const result = await stack.gql(UPDATE_SETTINGS, { input: { appId: created.app.id, ...settings } });
  expect(result.data.updateSegmentSettings.errors).toEqual([]);
  return created;
}

async function startWatched(app: CreatedApp, userId: string, trialEnd: Date) {
  const live = collect<Change>(stack.ws(app.apiKey), SEGMENT_CHANGED, { appId: app.app.id });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: trialEnd.toISOString() } });
  expect(started.data.startTrial.errors).toEqual([]);
  return live;
}

describe('time-driven transitions from durable timers', () => {
  it('exploring → gone_quiet → slipping_away → last_chance → expired, each within 2 s of its threshold', async () => {
    const app = await newApp({ inactivityAfter: 'PT2S', endingSoonBefore: 'PT6S', lastChanceBefore: 'PT3S' });
    const start = Date.now();
    const trialEnd = new Date(start + 10_000);
    const live = await startWatched(app, 'timed', trialEnd);
    const events = (await live.next(5, 20_000)).map((event) => event.segmentChanged);
    expect(events.map((event) => [event.sequence, event.oldSegment, event.newSegment, event.reason])).toEqual([
      [1, null, 'exploring', 'trial_started'],
      [2, 'exploring', 'gone_quiet', 'inactivity'],
      [3, 'gone_quiet', 'slipping_away', 'trial_ending_soon'],
      [4, 'slipping_away', 'last_chance', 'last_day'],
      [5, 'last_chance', 'expired', 'trial_expired'],
    ]);
    const end = trialEnd.getTime();
    const thresholds = [null, start + 2000, end - 6000, end - 3000, end];
    events.forEach((event, index) => {
      const threshold = thresholds[index];
      if (threshold == null) return;
      const lateness = Date.parse(event.occurredAt) - threshold;
      expect(lateness, `${event.newSegment} lateness`).toBeGreaterThanOrEqual(-250);
      expect(lateness, `${event.newSegment} lateness`).toBeLessThan(2000);
    });
    const description = await eventually(async () => {
      const current = await temporal.workflow.getHandle(`trial:${app.app.id}:timed`).describe();
      return current.status.name === 'COMPLETED' ? current : undefined;
    });
    expect(description.searchAttributes.TrialcastSegment).toEqual(['expired']);
  });

  it("an active user's events keep the timer to the threshold: it fires early once, and the user goes quiet at the moved threshold", async () => {
    const app = await newApp({ inactivityAfter: 'PT2S' });
    const live = await startWatched(app, 'busy', new Date(Date.now() + 30 * 86_400_000));
    await live.next(1);
    const handle = temporal.workflow.getHandle(`trial:${app.app.id}:busy`);
    let lastActivity = 0;
    for (const pause of [700, 700]) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      lastActivity = Date.now();
      await handle.signal(activitySignal, { at: new Date(lastActivity).toISOString() });
    }
    const [, quiet] = await live.next(2, 10_000);
    expect(quiet!.segmentChanged).toMatchObject({ newSegment: 'gone_quiet', reason: 'inactivity' });
    const lateness = Date.parse(quiet!.segmentChanged.occurredAt) - (lastActivity + 2000);
    expect(lateness).toBeGreaterThanOrEqual(-250);
    expect(lateness).toBeLessThan(2000);
    // The signals started and cancelled no timer: the first one fired early and the workflow slept on.
    const { events } = await handle.fetchHistory();
    const signals = events!.filter((event) => event.workflowExecutionSignaledEventAttributes).length;
    expect(signals).toBe(2);
    expect(events!.filter((event) => event.timerCanceledEventAttributes)).toHaveLength(0);
  });

  it('a threshold moved earlier (a shorter inactivity setting) replaces the timer', async () => {
    const app = await newApp({ inactivityAfter: 'PT1H' });
    const start = Date.now();
    const live = await startWatched(app, 'sooner', new Date(start + 30 * 86_400_000));
    await live.next(1);
    expect((await stack.gql(UPDATE_SETTINGS, { input: { appId: app.app.id, inactivityAfter: 'PT5S' } })).data.updateSegmentSettings.errors).toEqual([]);
    const [, quiet] = await live.next(2, 15_000);
    expect(quiet!.segmentChanged).toMatchObject({ newSegment: 'gone_quiet', reason: 'inactivity' });
    const { events } = await temporal.workflow.getHandle(`trial:${app.app.id}:sooner`).fetchHistory();
    expect(events!.filter((event) => event.timerCanceledEventAttributes)).toHaveLength(1);
  });
});

describe('event-driven transitions', () => {
  it('an aha event moves the user to found_value, a conversion to converted (final)', async () => {
    const app = await newApp({ inactivityAfter: 'PT1H' });
    const live = await startWatched(app, 'eventful', new Date(Date.now() + 30 * 86_400_000));
    await live.next(1);
    const handle = temporal.workflow.getHandle(`trial:${app.app.id}:eventful`);
    await handle.signal(activitySignal, { at: new Date().toISOString(), aha: true });
    // Signals that arrive together are decided together; wait so each shows as its own change.
    await live.next(2);
    await handle.signal(activitySignal, { at: new Date().toISOString(), conversion: true });
    const events = (await live.next(3)).map((event) => [event.segmentChanged.newSegment, event.segmentChanged.reason]);
    expect(events).toEqual([
      ['exploring', 'trial_started'],
      ['found_value', 'aha_event_received'],
      ['converted', 'converted'],
    ]);
  });

  it('activity after a quiet spell resumes the segment with activity_resumed', async () => {
    const app = await newApp({ inactivityAfter: 'PT1S' });
    const live = await startWatched(app, 'resumed', new Date(Date.now() + 30 * 86_400_000));
    await live.next(2, 5000);
    await temporal.workflow.getHandle(`trial:${app.app.id}:resumed`).signal(activitySignal, { at: new Date().toISOString() });
    const events = (await live.next(3)).map((event) => [event.segmentChanged.newSegment, event.segmentChanged.reason]);
    expect(events).toEqual([
      ['exploring', 'trial_started'],
      ['gone_quiet', 'inactivity'],
      ['exploring', 'activity_resumed'],
    ]);
  });
});

describe('commands are workflow updates', () => {
  it('extend re-evaluates at once; convert and cancel are final; a final trial refuses further commands', async () => {
    const app = await newApp({ inactivityAfter: 'PT1H', endingSoonBefore: 'PT1H', lastChanceBefore: 'PT30M' });
    const live = await startWatched(app, 'commanded', new Date(Date.now() + 45 * 60_000));
    expect((await live.next(1))[0]!.segmentChanged.newSegment).toBe('slipping_away');

    const newEnd = new Date(Date.now() + 10 * 86_400_000);
    const extended = await stack.gql(TRIAL_COMMAND('extendTrial', true), { appId: app.app.id, userId: 'commanded', trialEnd: newEnd.toISOString() });
    expect(extended.data.extendTrial).toEqual({ trial: { segment: 'exploring', trialEnd: newEnd.toISOString() }, errors: [] });
    expect((await live.next(2))[1]!.segmentChanged.reason).toBe('trial_extended');

    const past = await stack.gql(TRIAL_COMMAND('extendTrial', true), { appId: app.app.id, userId: 'commanded', trialEnd: '2020-01-01T00:00:00Z' });
    expect(past.data.extendTrial.errors).toEqual([{ field: 'trialEnd', message: 'trialEnd must be in the future', code: 'INVALID' }]);

    const cancelled = await stack.gql(TRIAL_COMMAND('cancelTrial'), { appId: app.app.id, userId: 'commanded' });
    expect(cancelled.data.cancelTrial.trial.segment).toBe('expired');
    expect((await live.next(3))[2]!.segmentChanged.reason).toBe('trial_cancelled');

    const again = await stack.gql(TRIAL_COMMAND('convertTrial'), { appId: app.app.id, userId: 'commanded' });
    expect(again.data.convertTrial.errors[0]).toMatchObject({ code: 'TRIAL_FINAL', message: 'the trial is already expired' });
  });

  it('convert from GraphQL', async () => {
    const app = await newApp({});
    const live = await startWatched(app, 'buyer', new Date(Date.now() + 86_400_000 * 20));
    await live.next(1);
    const converted = await stack.gql(TRIAL_COMMAND('convertTrial'), { appId: app.app.id, userId: 'buyer' });
    expect(converted.data.convertTrial.trial.segment).toBe('converted');
  });
});

describe('deleteTrial', () => {
  it('cancels the workflow through its update, then removes the trial and its history', async () => {
    const app = await newApp({});
    const live = await startWatched(app, 'leaving', new Date(Date.now() + 86_400_000 * 20));
    await live.next(1);
    const deleted = await stack.gql(`mutation($a: ID!) { deleteTrial(input: {appId: $a, userId: "leaving"}) { deletedId errors { code } } }`, {
      a: app.app.id,
    });
    expect(deleted.data.deleteTrial.errors).toEqual([]);
    expect((await live.next(2))[1]!.segmentChanged).toMatchObject({ newSegment: 'expired', reason: 'trial_cancelled' });
    expect((await stack.gql(TRIAL, { appId: app.app.id, userId: 'leaving' })).data.trial).toBeNull();
    const description = await eventually(async () => {
      const current = await temporal.workflow.getHandle(`trial:${app.app.id}:leaving`).describe();
      return current.status.name === 'COMPLETED' ? current : undefined;
    });
    expect(description.status.name).toBe('COMPLETED');
    const again = await stack.gql(`mutation($a: ID!) { deleteTrial(input: {appId: $a, userId: "leaving"}) { errors { code } } }`, { a: app.app.id });
    expect(again.data.deleteTrial.errors).toEqual([{ code: 'NOT_FOUND' }]);
  });
});

describe('segment settings', () => {
  it('refuse bad durations naming the field, and re-evaluate open trials when changed', async () => {
    const app = await newApp({ inactivityAfter: 'PT1H' });
    const bad = await stack.gql(UPDATE_SETTINGS, { input: { appId: app.app.id, inactivityAfter: 'P1M', lastChanceBefore: 'soon' } });
    expect(bad.data.updateSegmentSettings.errors.map((error: { field: string }) => error.field)).toEqual(['inactivityAfter', 'lastChanceBefore']);
    const inverted = await stack.gql(UPDATE_SETTINGS, { input: { appId: app.app.id, endingSoonBefore: 'PT1M', lastChanceBefore: 'PT2M' } });
    expect(inverted.data.updateSegmentSettings.errors[0].field).toBe('lastChanceBefore');

    const live = await startWatched(app, 'resettled', new Date(Date.now() + 30 * 86_400_000));
    await live.next(1);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const changed = await stack.gql(UPDATE_SETTINGS, { input: { appId: app.app.id, inactivityAfter: 'PT1S', ahaEvents: ['Report Created'] } });
    expect(changed.data.updateSegmentSettings.settings).toMatchObject({ inactivityAfter: 'PT1S', ahaEvents: ['Report Created'], endingSoonBefore: 'P3D' });
    const [, second] = await live.next(2);
    expect(second!.segmentChanged).toMatchObject({ newSegment: 'gone_quiet', reason: 'settings_changed' });

    const counts = await stack.gql(`query($a: ID!) { segments(appId: $a) { key trials } }`, { a: app.app.id });
    expect(counts.data.segments).toContainEqual({ key: 'gone_quiet', trials: 1 });
    expect(counts.data.segments).toHaveLength(9);
    const trial = await stack.gql(TRIAL, { appId: app.app.id, userId: 'resettled' });
    expect(trial.data.trial.segment).toBe('gone_quiet');
  });

  it('reach every open trial through a rollout workflow, a page of trials at a time, skipping final ones', async () => {
    const app = await newApp({ inactivityAfter: 'PT1H', conversionEvents: ['Paid'] });
    const users = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const userId of users) await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(async () => ((await stack.count('select count(*) as n from segment_changes where app_id = $1', [app.app.id])) === 6 ? true : undefined));
    await temporal.workflow.getHandle(`trial:${app.app.id}:r6`).signal(activitySignal, { at: new Date().toISOString(), conversion: true });
    await eventually(async () =>
      (await stack.count(`select count(*) as n from trials where app_id = $1 and segment = 'converted'`, [app.app.id])) === 1 ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // Two trials a page: three pages for the five open ones (the converted one is not signalled).
    const signalled = await temporal.workflow.execute('settingsRollout', {
      workflowId: `rollout-test-${app.app.id}`,
      taskQueue: stack.config.temporalTaskQueue,
      args: [
        {
          appId: app.app.id,
          settings: { inactivityAfterMs: 1000, endingSoonBeforeMs: 3 * 86_400_000, lastChanceBeforeMs: 86_400_000 },
          after: null,
          pageSize: 2,
        },
      ],
    });
    expect(signalled).toBe(5);
    await eventually(async () =>
      (await stack.count(`select count(*) as n from trials where app_id = $1 and segment = 'gone_quiet'`, [app.app.id])) === 5 ? true : undefined,
    );
    const history = await temporal.workflow.getHandle(`rollout-test-${app.app.id}`).fetchHistory();
    expect(history.events!.filter((event) => event.activityTaskCompletedEventAttributes).length).toBe(3);
    // RECORD_HISTORY=1 keeps it for the replay test (test/fixtures/histories).
    if (process.env.RECORD_HISTORY === '1')
      await writeFile(
        new URL('./fixtures/histories/settings-rollout-pages.json', import.meta.url),
        `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`,
      );
  });
});
