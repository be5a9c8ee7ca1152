import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';
import { FINISHED_TRIAL_COUNTS_TRIGGER_DDL } from './finished-rollup.ddl.ts';

/**
 * One trial of one app: a person's (userId) or an account's (accountId, a B2B workspace), never
 * both. Its segment is owned by the trial's lifecycle workflow.
 */
export const Trial = defineEntity({
  name: 'Trial',
  tableName: 'trials',
  uniques: [{ properties: ['app', 'userId'] }, { properties: ['app', 'accountId'] }],
  checks: [{ name: 'trials_one_subject_check', expression: '(user_id is null) <> (account_id is null)' }],
  indexes: [
    { properties: ['app', 'segment'] },
    // Conversion reads every trial of a range: from this index alone (an index-only scan a tenth
    // the size of the table); its columns change with the segment, whose change is never a HOT update anyway.
    {
      name: 'trials_app_id_trial_start_index',
      expression:
        'create index "trials_app_id_trial_start_index" on "trials" ("app_id", "trial_start") include ("segment", "path", "last_open_reason", "account_id")',
    },
    // The open trials (a settings preview re-checks each): a few of the table's rows, found without reading the rest.
    {
      name: 'trials_open_index',
      expression: `create index "trials_open_index" on "trials" ("app_id") where "segment" is null or "segment" not in ('converted', 'expired')`,
    },
  ],
  // Keeps finished_trial_counts, what conversion reads (created by the finished_trial_counts migration; declared here so the schema check knows it).
  triggers: [
    {
      name: 'trials_finished_count',
      timing: 'after',
      events: ['insert', 'update', 'delete'],
      expression: FINISHED_TRIAL_COUNTS_TRIGGER_DDL,
    },
  ],
  properties: {
    id: p.string().primary(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    /** A person's trial; null for an account's. */
    userId: p.string().nullable(),
    /** An account's trial (Segment's groupId); null for a person's. */
    accountId: p.string().nullable(),
    /** A person's email; null for an account's (its members have theirs). */
    email: p.string().nullable(),
    stripeCustomerId: p.string().nullable(),
    trialStart: p.datetime(),
    trialEnd: p.datetime(),
    /** Null until the workflow records the first segment. */
    segment: p.string().nullable(),
    /** Sequence number of the latest recorded segment change (0: none yet). */
    lastSequence: p.integer().default(0),
    workflowId: p.string(),
    /** Latest event time; most events update only this, which the workflow reads when its timers fire. */
    lastActivityAt: p.datetime().nullable(),
    ahaReachedAt: p.datetime().nullable(),
    /** The segments it went through before any outcome ('>'-joined), kept by the database's rollup trigger. */
    path: p.text().default(''),
    /** The reason of its latest move that was not an outcome, kept by the same trigger. */
    lastOpenReason: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type ITrial = InferEntity<typeof Trial>;

/**
 * A trial as the API answers with it: an entity is one, and so is a row read without the ORM
 * (trialOfSubject, the API's most frequent read, builds it from its row: hydrating an entity was
 * 6.6 % of the API's CPU under that query).
 */
export interface TrialView {
  id: string;
  app: { id: string };
  userId?: string | null;
  accountId?: string | null;
  email?: string | null;
  stripeCustomerId?: string | null;
  trialStart: Date;
  trialEnd: Date;
  segment?: string | null;
  workflowId: string;
  createdAt: Date;
}
