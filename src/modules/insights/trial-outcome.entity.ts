import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';
import { Trial } from '../trials/trial.entity.ts';
import { DRIVER_COUNTS_TRIGGER_DDL } from './outcome-rollup.ddl.ts';

/**
 * A finished trial (converted or expired) as conversion drivers read it: its outcome, and the
 * event names it did before that outcome (only those: what a converted user does after paying
 * says nothing about why they paid). Written when the outcome is recorded (trial-outcomes.ts);
 * a trigger adds it to the daily rollup the drivers read, and holdout reports join it by trial.
 */
export const TrialOutcome = defineEntity({
  name: 'TrialOutcome',
  tableName: 'trial_outcomes',
  // Keeps driver_day_counts (created by the driver_day_counts migration; declared here so the schema check knows it).
  triggers: [{ name: 'trial_outcomes_count', timing: 'after', events: ['insert', 'update', 'delete'], expression: DRIVER_COUNTS_TRIGGER_DDL }],
  properties: {
    trial: () => p.manyToOne(Trial).primary().deleteRule('cascade'),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    /** `user` or `account`. */
    kind: p.string().length(16),
    trialStart: p.datetime(),
    outcomeAt: p.datetime(),
    converted: p.boolean(),
    /** Distinct track event names done before the outcome (for an account: by its members, for it). */
    events: p.array(),
  },
});
export type ITrialOutcome = InferEntity<typeof TrialOutcome>;
