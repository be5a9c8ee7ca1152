/**
 * One workflow per trial, from its start to a final segment. Deterministic code only:
 * no I/O (activities do that), time from the workflow clock, ids from the SDK's uuid4.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';
import { APP_ID_ATTRIBUTE, SEGMENT_ATTRIBUTE } from '../src/core/search-attributes.ts';
import { FINAL_SEGMENTS, type SegmentKey } from '../src/core/segments.ts';
import {
  decideSegment,
  isActiveAt,
  nextThresholdAt,
  phaseAt,
  reasonFor,
  type Trigger,
} from '../src/core/segment-rules.ts';
import {
  activitySignal,
  cancelUpdate,
  convertUpdate,
  extendTrialUpdate,
  settingsChangedSignal,
  stateQuery,
  type TrialLifecycleInput,
  type TrialState,
} from '../src/core/trial-lifecycle.messages.ts';

type Activities = ReturnType<typeof createActivities>;
const activityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '1 minute' },
} as const;
const remote = proxyActivities<Activities>(activityOptions);
// Short database steps run as local activities: no server round trip to schedule them,
// which is most of a timer-driven transition's latency. Histories recorded before this
// change keep the remote path (patched() is false when replaying them).
const local = proxyLocalActivities<Activities>(activityOptions);
const db = () => (patched('local-db-activities') ? local : remote);
// First webhook attempts: a local activity too, given the longest endpoint timeout (30 s).
const webhookSender = proxyLocalActivities<Activities>({ ...activityOptions, startToCloseTimeout: '60 seconds' });

/** Stronger triggers name the transition when several arrive before the workflow wakes. */
const TRIGGER_RANK: Trigger[] = ['timer', 'activity', 'settings_changed', 'trial_extended', 'aha_event', 'converted'];

function initialState(input: TrialLifecycleInput): TrialState {
  return {
    segment: null,
    sequence: 0,
    ahaReached: false,
    converted: false,
    cancelled: false,
    // Starting the trial is the user's first activity.
    lastActivityAt: Date.now(),
    trialStart: Date.parse(input.trialStart),
    trialEnd: Date.parse(input.trialEnd),
    settings: input.settings,
  };
}

export async function trialLifecycle(input: TrialLifecycleInput): Promise<TrialState> {
  const state = input.state ?? initialState(input);
  let pending: Trigger | null = null;
  // Wake-ups requested and evaluated: an update answers only once its own wake-up was decided.
  let requested = 0;
  let evaluated = 0;
  const wake = (trigger: Trigger): number => {
    if (pending === null || TRIGGER_RANK.indexOf(trigger) > TRIGGER_RANK.indexOf(pending)) pending = trigger;
    return ++requested;
  };
  const isFinal = () => state.segment !== null && FINAL_SEGMENTS.has(state.segment);
  const refuseWhenFinal = () => {
    if (isFinal()) throw ApplicationFailure.nonRetryable(`the trial is already ${state.segment}`, 'TrialFinal');
  };

  // Webhook first attempts run behind the transitions, one change after another (so a trial's
  // webhooks leave in order) without holding up the next transition or timer.
  const firstAttemptsByWorkflow = patched('webhook-first-attempts');
  let webhooks: Promise<void> = Promise.resolve();

  async function moveTo(segment: SegmentKey, reason: string): Promise<void> {
    const sequence = state.sequence + 1;
    const id = `sgc_${uuid4().replaceAll('-', '')}`;
    const recorded = await db().recordSegmentChange({
      // Id and time come from the workflow, so a retried or replayed record is the same record.
      id,
      appId: input.appId,
      trialId: input.trialId,
      sequence,
      oldSegment: state.segment,
      newSegment: segment,
      reason,
      occurredAt: new Date().toISOString(),
      firstAttemptsByWorkflow,
    });
    // Local activities of a workflow task that never completed (its worker killed) have run
    // all the same: a different decision may hold this sequence number, already published
    // (even under this id: the SDK's uuid4 repeats itself in a retried task). Adopt it, and
    // decide again from there. (Older histories recorded no result.)
    const adopted = recorded && recorded.newSegment !== segment ? (recorded.newSegment as SegmentKey) : null;
    const changeId = recorded?.id ?? id;
    if (firstAttemptsByWorkflow) webhooks = webhooks.then(() => webhookSender.sendFirstAttempts(changeId));
    state.segment = adopted ?? segment;
    state.sequence = sequence;
    upsertSearchAttributes([{ key: SEGMENT_ATTRIBUTE, value: state.segment }]);
    if (adopted) wake('timer');
  }

  async function evaluate(trigger: Trigger): Promise<void> {
    if (isFinal()) return;
    const now = Date.now();
    if (state.cancelled) return moveTo('expired', 'trial_cancelled');
    const next = decideSegment(state, now, state.settings);
    if (next === state.segment) return;
    const reason = state.segment === null ? 'trial_started' : reasonFor(trigger, next, phaseAt(now, state.trialEnd, state.settings), isActiveAt(now, state.lastActivityAt, state.settings));
    await moveTo(next, reason);
  }

  setHandler(stateQuery, () => state);
  setHandler(activitySignal, (notice) => {
    const at = Date.parse(notice.at);
    if (Number.isFinite(at) && at > state.lastActivityAt) state.lastActivityAt = at;
    if (notice.conversion) state.converted = true;
    const newAha = notice.aha === true && !state.ahaReached;
    if (notice.aha) state.ahaReached = true;
    wake(notice.conversion ? 'converted' : newAha ? 'aha_event' : 'activity');
  });
  setHandler(settingsChangedSignal, (settings) => {
    state.settings = settings;
    wake('settings_changed');
  });
  setHandler(
    extendTrialUpdate,
    async ({ trialEnd }) => {
      state.trialEnd = Date.parse(trialEnd);
      await db().saveTrialEnd({ trialId: input.trialId, trialEnd });
      const ticket = wake('trial_extended');
      await condition(() => evaluated >= ticket);
      return state;
    },
    {
      validator: ({ trialEnd }) => {
        refuseWhenFinal();
        const end = Date.parse(trialEnd);
        if (!Number.isFinite(end)) throw new Error(`trialEnd ${JSON.stringify(trialEnd)} is not an ISO-8601 time`);
        if (end <= Date.now()) throw new Error('trialEnd must be in the future');
      },
    },
  );
  setHandler(
    convertUpdate,
    async () => {
      state.converted = true;
      wake('converted');
      await condition(isFinal);
      return state;
    },
    { validator: refuseWhenFinal },
  );
  setHandler(
    cancelUpdate,
    async () => {
      state.cancelled = true;
      wake('timer');
      await condition(isFinal);
      return state;
    },
    { validator: refuseWhenFinal },
  );

  upsertSearchAttributes([{ key: APP_ID_ATTRIBUTE, value: input.appId }]);
  // Events before the trial began (or an aha whose signal was lost) count from the start.
  if (state.segment === null && patched('aha-before-start') && !state.ahaReached && (await db().ahaReachedBefore(input.trialId))) state.ahaReached = true;
  if (state.segment === null) await evaluate('trial_started');

  while (!isFinal()) {
    const threshold = nextThresholdAt(state, Date.now(), state.settings);
    const woken = await condition(
      () => pending !== null || workflowInfo().continueAsNewSuggested,
      threshold === null ? undefined : Math.max(1, threshold - Date.now()),
    );
    if (!woken) {
      // Most events only touch the activity record (no signal per event); read it before
      // deciding a user went quiet.
      const stored = await db().lastActivityAt(input.trialId);
      if (stored !== null && Date.parse(stored) > state.lastActivityAt) state.lastActivityAt = Date.parse(stored);
      wake('timer');
    }
    if (pending !== null) {
      const trigger: Trigger = pending;
      const upTo = requested;
      pending = null;
      await evaluate(trigger);
      evaluated = upTo;
    }
    if (workflowInfo().continueAsNewSuggested && !isFinal()) {
      await condition(allHandlersFinished);
      await webhooks;
      await continueAsNew<typeof trialLifecycle>({ ...input, state });
    }
  }
  await condition(allHandlersFinished);
  await webhooks;
  return state;
}
