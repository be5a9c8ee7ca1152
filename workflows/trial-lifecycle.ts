/**
 * One workflow per trial, from its start to a final segment. Deterministic code only:
 * no I/O (activities do that), time from the workflow clock, ids from the SDK's uuid4.
 */
import {
  condition,
  continueAsNew,
  proxyActivities,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';
import { APP_ID_ATTRIBUTE, SEGMENT_ATTRIBUTE } from '../src/temporal/search-attributes.ts';
import { FINAL_SEGMENTS, type SegmentKey } from '../src/modules/trials/segments.ts';

const { recordSegmentChange } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export interface TrialLifecycleInput {
  appId: string;
  trialId: string;
  /** ISO-8601 */
  trialEnd: string;
  /** Carried over by continue-as-new. */
  state?: TrialState;
}

/** Everything the workflow knows, small enough to carry across continue-as-new. */
export interface TrialState {
  segment: SegmentKey | null;
  sequence: number;
}

export async function trialLifecycle(input: TrialLifecycleInput): Promise<TrialState> {
  const state: TrialState = input.state ?? { segment: null, sequence: 0 };
  upsertSearchAttributes([{ key: APP_ID_ATTRIBUTE, value: input.appId }]);

  async function moveTo(segment: SegmentKey, reason: string): Promise<void> {
    const sequence = state.sequence + 1;
    await recordSegmentChange({
      // The id and time come from the workflow, so a retried or replayed record is the same record.
      id: `sgc_${uuid4().replaceAll('-', '')}`,
      appId: input.appId,
      trialId: input.trialId,
      sequence,
      oldSegment: state.segment,
      newSegment: segment,
      reason,
      occurredAt: new Date().toISOString(),
    });
    state.segment = segment;
    state.sequence = sequence;
    upsertSearchAttributes([{ key: SEGMENT_ATTRIBUTE, value: segment }]);
  }

  if (state.segment === null) await moveTo('exploring', 'trial_started');

  while (!FINAL_SEGMENTS.has(state.segment as SegmentKey)) {
    const remainingMs = Date.parse(input.trialEnd) - Date.now();
    if (remainingMs <= 0) {
      await moveTo('expired', 'trial_expired');
      break;
    }
    await condition(() => workflowInfo().continueAsNewSuggested, remainingMs);
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof trialLifecycle>({ ...input, state });
    }
  }
  return state;
}
