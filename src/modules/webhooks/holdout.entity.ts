import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';
import { Trial } from '../trials/trial.entity.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

/**
 * A holdout on an endpoint: a share of trials whose webhooks to it are recorded but never sent,
 * to measure what the endpoint's nudges change. One runs at a time per endpoint; its percent is
 * fixed while it runs (a new one is a new experiment, with its own start and assignments).
 */
export const HoldoutExperiment = defineEntity({
  name: 'HoldoutExperiment',
  tableName: 'holdout_experiments',
  uniques: [
    {
      name: 'holdout_experiments_one_running',
      expression: 'create unique index "holdout_experiments_one_running" on "holdout_experiments" ("endpoint_id") where "stopped_at" is null',
    },
  ],
  properties: {
    id: p.string().primary(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    endpoint: () => p.manyToOne(WebhookEndpoint).deleteRule('cascade'),
    /** 1 to 50: the share of trials held out. */
    percent: p.integer(),
    startedAt: p.datetime(),
    stoppedAt: p.datetime().nullable(),
  },
});
export type IHoldoutExperiment = InferEntity<typeof HoldoutExperiment>;

/**
 * A trial in an experiment, from its first delivery planned for the endpoint while the experiment
 * ran: held out or exposed (decided by a stable hash, holdouts.ts). Kept for the report beyond
 * the deliveries' retention.
 */
export const HoldoutAssignment = defineEntity({
  name: 'HoldoutAssignment',
  tableName: 'holdout_assignments',
  properties: {
    experiment: () => p.manyToOne(HoldoutExperiment).primary().deleteRule('cascade'),
    trial: () => p.manyToOne(Trial).primary().deleteRule('cascade'),
    heldOut: p.boolean(),
    assignedAt: p.datetime(),
  },
});
export type IHoldoutAssignment = InferEntity<typeof HoldoutAssignment>;
