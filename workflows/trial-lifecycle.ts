/**
 * One workflow per trial, from its start to a final segment. Deterministic code only:
 * no I/O (activities do that), time from the workflow clock, ids from the SDK's uuid4.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { context, type Context } from '@opentelemetry/api';
import type { createActivities } from '../src/temporal/activities.ts';
import { APP_ID_ATTRIBUTE, SEGMENT_ATTRIBUTE } from '../src/core/search-attributes.ts';
import { isFinalSegment, type SegmentKey } from '../src/core/segments.ts';
import { decideSegment, isActiveAt, nextThresholdAt, phaseAt, reasonFor, type SegmentSettings, type Trigger } from '../src/core/segment-rules.ts';
import {
  activitySignal,
  cancelUpdate,
  convertUpdate,
  extendTrialUpdate,
  settingsChangedSignal,
  stateQuery,
  type ActivityNotice,
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

/**
 * A trial's state and what each message does to it (Temporal's safe-message-handlers
 * sample). Messages only change the state and ask for a wake-up; the main loop decides.
 */
class TrialLifecycle {
  readonly state: TrialState;
  readonly #input: TrialLifecycleInput;
  #pending: Trigger | null = null;
  // The trace of the message that asked for the pending decision (an ingest request's signal), so the
  // recording and the webhook attempts continue it. A no-op context unless tracing is bundled in.
  #pendingTrace: Context | null = null;
  // When ingest sent the oldest notice the pending decision answers (the worker's event → transition lag).
  #noticeSentAt: string | undefined;
  // Wake-ups requested and evaluated: an update answers only once its own wake-up was decided.
  #requested = 0;
  #evaluated = 0;
  // Webhook first attempts run behind the transitions, one change after another (so a trial's
  // webhooks leave in order) without holding up the next transition or timer.
  readonly #firstAttemptsByWorkflow = patched('webhook-first-attempts');
  #webhooks: Promise<void> = Promise.resolve();
  // The timer to the next threshold is kept while the threshold only moves later (each event moves an
  // active user's inactivity window): it then fires early once and the workflow sleeps on, instead of
  // cancelling a timer and starting another at every message (two of a transition's history events and
  // their server-side work). Runs started before keep a timer per wait.
  readonly #keepsThresholdTimer = patched('threshold-timer-kept');
  #thresholdTimer: ThresholdTimer | null = null;

  constructor(input: TrialLifecycleInput) {
    this.#input = input;
    this.state = input.state ?? initialState(input);
  }

  get isFinal(): boolean {
    return isFinalSegment(this.state.segment);
  }

  get hasWork(): boolean {
    return this.#pending !== null;
  }

  readonly refuseWhenFinal = (): void => {
    if (this.isFinal) throw ApplicationFailure.nonRetryable(`the trial is already ${this.state.segment}`, 'TrialFinal');
  };

  /** Asks the main loop to decide again; returns the ticket an update waits for. */
  wake(trigger: Trigger): number {
    if (this.#pending === null || TRIGGER_RANK.indexOf(trigger) > TRIGGER_RANK.indexOf(this.#pending)) {
      this.#pending = trigger;
      this.#pendingTrace = context.active();
    }
    return ++this.#requested;
  }

  onActivity(notice: ActivityNotice): void {
    const at = Date.parse(notice.at);
    if (Number.isFinite(at) && at > this.state.lastActivityAt) this.state.lastActivityAt = at;
    if (notice.conversion) this.state.converted = true;
    const newAha = notice.aha === true && !this.state.ahaReached;
    if (notice.aha) this.state.ahaReached = true;
    this.#noticeSentAt ??= notice.sentAt;
    this.wake(notice.conversion ? 'converted' : newAha ? 'aha_event' : 'activity');
  }

  onSettingsChanged(settings: SegmentSettings): void {
    // A trial started after this save began with these very settings (and checked its stored events then):
    // its rollout's signal has nothing to re-evaluate, and must not record a move as a settings change.
    if (settings.revision != null && settings.revision === this.state.settings.revision && patched('settings-same-revision-ignored')) return;
    this.state.settings = settings;
    this.wake('settings_changed');
  }

  async extend(trialEnd: string): Promise<TrialState> {
    this.state.trialEnd = Date.parse(trialEnd);
    await db().saveTrialEnd({ trialId: this.#input.trialId, trialEnd });
    const ticket = this.wake('trial_extended');
    await condition(() => this.#evaluated >= ticket);
    return this.state;
  }

  readonly validateExtension = ({ trialEnd }: { trialEnd: string }): void => {
    this.refuseWhenFinal();
    const end = Date.parse(trialEnd);
    if (!Number.isFinite(end)) throw new Error(`trialEnd ${JSON.stringify(trialEnd)} is not an ISO-8601 time`);
    if (end <= Date.now()) throw new Error('trialEnd must be in the future');
  };

  async convert(): Promise<TrialState> {
    this.state.converted = true;
    this.wake('converted');
    await condition(() => this.isFinal);
    return this.state;
  }

  async cancel(): Promise<TrialState> {
    this.state.cancelled = true;
    this.wake('timer');
    await condition(() => this.isFinal);
    return this.state;
  }

  /** The first segment, counting events from before the trial began (or an aha whose signal was lost). */
  async begin(): Promise<void> {
    upsertSearchAttributes([{ key: APP_ID_ATTRIBUTE, value: this.#input.appId }]);
    if (this.state.segment === null && patched('aha-before-start') && !this.state.ahaReached && (await db().ahaReachedBefore(this.#input.trialId)))
      this.state.ahaReached = true;
    if (this.state.segment === null) await this.#evaluate('trial_started');
  }

  /** Sleeps until the next threshold or message, then decides what it asked for. */
  async step(): Promise<void> {
    const threshold = nextThresholdAt(this.state, Date.now(), this.state.settings);
    const thresholdReached = this.#keepsThresholdTimer
      ? await this.#sleepUntil(threshold)
      : !(await condition(
          () => this.#pending !== null || workflowInfo().continueAsNewSuggested,
          threshold === null ? undefined : Math.max(1, threshold - Date.now()),
        ));
    if (thresholdReached) {
      // Most events only touch the activity record (no signal per event); read it before
      // deciding a user went quiet. (The read also measures how late the timer fired.)
      await this.#readStoredActivity(threshold ?? undefined);
      this.wake('timer');
    }
    // New durations are judged on the latest activity too, as a timer is (and as a settings preview reads it).
    if (this.#pending === 'settings_changed' && patched('settings-change-reads-activity')) await this.#readStoredActivity();
    // New aha events or rules may be met by events already stored (the signal queue's "make this the aha
    // event"), and an account's aha depends on a setting (how many members must reach it): a lower bar may be
    // met already. Account trials took this path from their start; a person's behind a patch.
    if (this.#pending === 'settings_changed' && !this.state.ahaReached && (this.#input.kind === 'account' || patched('settings-change-reads-aha')))
      this.state.ahaReached = await db().ahaReachedBefore(this.#input.trialId);
    if (this.#pending !== null) {
      const trigger: Trigger = this.#pending;
      const upTo = this.#requested;
      const trace = this.#pendingTrace ?? context.active();
      const noticeSentAt = this.#noticeSentAt;
      this.#pending = null;
      this.#noticeSentAt = undefined;
      await context.with(trace, () => this.#evaluate(trigger, noticeSentAt));
      this.#evaluated = upTo;
    }
  }

  /** Handlers and webhook first attempts finished: the run can end or continue as new. */
  async settle(): Promise<void> {
    await condition(allHandlersFinished);
    await this.#webhooks;
  }

  /** Waits for a message or the threshold; true when the threshold came first. */
  async #sleepUntil(threshold: number | null): Promise<boolean> {
    if (threshold !== null && (this.#thresholdTimer === null || this.#thresholdTimer.at > threshold)) {
      this.#thresholdTimer?.scope.cancel();
      this.#thresholdTimer = startThresholdTimer(threshold);
    }
    await condition(() => this.#pending !== null || this.#thresholdTimer?.fired === true || workflowInfo().continueAsNewSuggested);
    const timer = this.#thresholdTimer;
    if (timer?.fired) this.#thresholdTimer = null;
    // A timer kept from an earlier threshold fires early: the next step sleeps on to the current one.
    return this.#pending === null && timer?.fired === true && timer.at === threshold;
  }

  async #readStoredActivity(dueAt?: number): Promise<void> {
    const stored = await db().lastActivityAt(this.#input.trialId, dueAt);
    if (stored !== null && Date.parse(stored) > this.state.lastActivityAt) this.state.lastActivityAt = Date.parse(stored);
  }

  async #evaluate(trigger: Trigger, noticeSentAt?: string): Promise<void> {
    if (this.isFinal) return;
    const { state } = this;
    const now = Date.now();
    if (state.cancelled) return this.#moveTo('expired', 'trial_cancelled');
    const next = decideSegment(state, now, state.settings);
    if (next === state.segment) return;
    const reason =
      state.segment === null
        ? 'trial_started'
        : reasonFor(trigger, next, phaseAt(now, state.trialEnd, state.settings), isActiveAt(now, state.lastActivityAt, state.settings));
    await this.#moveTo(next, reason, noticeSentAt);
  }

  async #moveTo(segment: SegmentKey, reason: string, noticeSentAt?: string): Promise<void> {
    const { state } = this;
    const sequence = state.sequence + 1;
    const id = `sgc_${uuid4().replaceAll('-', '')}`;
    const recorded = await db().recordSegmentChange({
      // Id and time come from the workflow, so a retried or replayed record is the same record.
      id,
      appId: this.#input.appId,
      trialId: this.#input.trialId,
      sequence,
      oldSegment: state.segment,
      newSegment: segment,
      reason,
      occurredAt: new Date().toISOString(),
      firstAttemptsByWorkflow: this.#firstAttemptsByWorkflow,
      ...(noticeSentAt ? { noticeSentAt } : {}),
    });
    // Local activities of a workflow task that never completed (its worker killed) have run
    // all the same: a different decision may hold this sequence number, already published
    // (even under this id: the SDK's uuid4 repeats itself in a retried task). Adopt it, and
    // decide again from there. (Older histories recorded no result.)
    const adopted = recorded && recorded.newSegment !== segment ? (recorded.newSegment as SegmentKey) : null;
    const changeId = recorded?.id ?? id;
    if (this.#firstAttemptsByWorkflow) this.#webhooks = this.#webhooks.then(() => webhookSender.sendFirstAttempts(changeId));
    state.segment = adopted ?? segment;
    state.sequence = sequence;
    upsertSearchAttributes([{ key: SEGMENT_ATTRIBUTE, value: state.segment }]);
    if (adopted) this.wake('timer');
  }
}

interface ThresholdTimer {
  readonly at: number;
  readonly scope: CancellationScope;
  fired: boolean;
}

function startThresholdTimer(at: number): ThresholdTimer {
  const timer: ThresholdTimer = { at, scope: new CancellationScope(), fired: false };
  void timer.scope
    .run(() => sleep(Math.max(1, at - Date.now())))
    .then(
      () => (timer.fired = true),
      (error: unknown) => {
        // Cancelled when an earlier threshold replaced it (or with the workflow, whose main loop's wait says so).
        if (!isCancellation(error)) throw error;
      },
    );
  return timer;
}

export async function trialLifecycle(input: TrialLifecycleInput): Promise<TrialState> {
  const trial = new TrialLifecycle(input);
  setHandler(stateQuery, () => trial.state);
  setHandler(activitySignal, (notice) => trial.onActivity(notice));
  setHandler(settingsChangedSignal, (settings) => trial.onSettingsChanged(settings));
  setHandler(extendTrialUpdate, ({ trialEnd }) => trial.extend(trialEnd), { validator: trial.validateExtension });
  setHandler(convertUpdate, () => trial.convert(), { validator: trial.refuseWhenFinal });
  setHandler(cancelUpdate, () => trial.cancel(), { validator: trial.refuseWhenFinal });

  await trial.begin();
  while (!trial.isFinal) {
    await trial.step();
    if (workflowInfo().continueAsNewSuggested && !trial.isFinal) {
      await trial.settle();
      await continueAsNew<typeof trialLifecycle>({ ...input, state: trial.state });
    }
  }
  await trial.settle();
  return trial.state;
}
