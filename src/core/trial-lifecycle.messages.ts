/**
 * The lifecycle workflow's messages, shared by the workflow and its callers (API, ingestion).
 * Signals carry facts (activity happened, settings changed); updates are commands with a
 * validator and an answer (extend, convert, cancel).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SegmentKey } from './segments.ts';
import type { SegmentSettings } from './segment-rules.ts';

export interface ActivityNotice {
  /** ISO-8601 time of the event. */
  at: string;
  /** The event is one of the app's aha events (and its count was reached). */
  aha?: boolean;
  /** The event is one of the app's conversion events. */
  conversion?: boolean;
  /** ISO-8601 time ingest sent this notice (the worker's event → transition lag); absent from older senders. */
  sentAt?: string;
}

/** Everything the workflow knows, small enough to carry across continue-as-new. */
export interface TrialState {
  segment: SegmentKey | null;
  sequence: number;
  ahaReached: boolean;
  converted: boolean;
  cancelled: boolean;
  /** Epoch ms. */
  lastActivityAt: number;
  trialStart: number;
  trialEnd: number;
  settings: SegmentSettings;
}

export interface TrialLifecycleInput {
  appId: string;
  trialId: string;
  /** ISO-8601 */
  trialStart: string;
  trialEnd: string;
  settings: SegmentSettings;
  /** An account's trial (absent: a person's, as every history before accounts). */
  kind?: 'account';
  /** Carried over by continue-as-new. */
  state?: TrialState;
}

export const activitySignal = defineSignal<[ActivityNotice]>('activity');
export const settingsChangedSignal = defineSignal<[SegmentSettings]>('settingsChanged');
export const extendTrialUpdate = defineUpdate<TrialState, [{ trialEnd: string }]>('extendTrial');
export const convertUpdate = defineUpdate<TrialState, []>('convert');
export const cancelUpdate = defineUpdate<TrialState, []>('cancel');
export const stateQuery = defineQuery<TrialState>('state');

/** The settings rollout (workflows/settings-rollout.ts): one app's open trials, signalled a page at a time. */
export interface SettingsRolloutInput {
  appId: string;
  settings: SegmentSettings;
  /** Trials are paged by id; the last one signalled (null: from the start). */
  after: string | null;
  pageSize: number;
  /** Carried over by continue-as-new. */
  signalled?: number;
}

export const settingsRolloutWorkflowId = (appId: string) => `settings-rollout:${appId}`;
