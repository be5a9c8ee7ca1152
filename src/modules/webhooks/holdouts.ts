/**
 * Holdouts per endpoint: starting and stopping an experiment, whether a trial is held out of it,
 * and its report. A trial's assignment is a stable hash of (experiment, trial), so every process
 * that plans a delivery decides the same, and the same trial is always held out or always exposed.
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldError } from '../../core/field-error.ts';
import { holdoutReport, type HoldoutReport } from '../../core/holdout-report.ts';
import { newId } from '../../ids.ts';
import { HoldoutExperiment, type IHoldoutExperiment } from './holdout.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';

export const MIN_HOLDOUT_PERCENT = 1;
export const MAX_HOLDOUT_PERCENT = 50;

/** Where a trial falls in an experiment, uniform in [0, 1): SHA-256 of the two ids, its first 53 bits. */
export function holdoutPosition(experimentId: string, trialId: string): number {
  const digest = createHash('sha256').update(`${experimentId}\n${trialId}`).digest();
  return Number(digest.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

export const isHeldOut = (experimentId: string, trialId: string, percent: number): boolean => holdoutPosition(experimentId, trialId) < percent / 100;

/** The endpoint's running experiment, if any. */
export const runningHoldout = (em: EntityManager, endpoint: IWebhookEndpoint) => em.findOne(HoldoutExperiment, { endpoint, stoppedAt: null });

/** The experiment the report is of: the running one, else the latest. */
export const currentHoldout = (em: EntityManager, endpoint: IWebhookEndpoint) =>
  em.findOne(HoldoutExperiment, { endpoint }, { orderBy: { startedAt: 'desc', id: 'desc' } });

export async function startHoldout(
  em: EntityManager,
  endpoint: IWebhookEndpoint,
  percent: number,
): Promise<{ experiment?: IHoldoutExperiment; errors: FieldError[] }> {
  if (!Number.isInteger(percent) || percent < MIN_HOLDOUT_PERCENT || percent > MAX_HOLDOUT_PERCENT) {
    return { errors: [{ field: 'percent', message: `percent must be a whole number from ${MIN_HOLDOUT_PERCENT} to ${MAX_HOLDOUT_PERCENT}`, code: 'INVALID' }] };
  }
  const locked = {
    errors: [{ field: 'endpointId', message: 'a holdout is running on this endpoint: stop it before starting another', code: 'HOLDOUT_RUNNING' }],
  };
  if (await runningHoldout(em, endpoint)) return locked;
  const experiment = em.create(HoldoutExperiment, { id: newId('hx'), app: endpoint.app, endpoint, percent, startedAt: new Date(), stoppedAt: null });
  try {
    await em.flush();
  } catch (error) {
    // Two starts at once: the database's one-running index lets one through.
    if ((error as { code?: string }).code === '23505') return locked;
    throw error;
  }
  return { experiment, errors: [] };
}

export async function stopHoldout(em: EntityManager, endpoint: IWebhookEndpoint): Promise<{ experiment?: IHoldoutExperiment; errors: FieldError[] }> {
  const experiment = await runningHoldout(em, endpoint);
  if (!experiment) return { errors: [{ field: 'endpointId', message: 'no holdout is running on this endpoint', code: 'NOT_RUNNING' }] };
  experiment.stoppedAt = new Date();
  await em.flush();
  return { experiment, errors: [] };
}

/**
 * The experiment's trials by group and outcome, in one grouped query over the assignments and the
 * finished trials' outcome rows (narrow rows, both in trial order); the statistics in core/holdout-report.ts.
 */
export async function reportOf(em: EntityManager, experimentId: string): Promise<HoldoutReport> {
  const rows: Array<{ held_out: boolean; trials: number; converted: number; expired: number }> = await em.execute(
    `select a.held_out, count(*)::int as trials,
            (count(*) filter (where o.converted))::int as converted, (count(*) filter (where not o.converted))::int as expired
       from holdout_assignments a left join trial_outcomes o on o.trial_id = a.trial_id
      where a.experiment_id = ? group by a.held_out`,
    [experimentId],
  );
  const counts = (heldOut: boolean) => rows.find((row) => row.held_out === heldOut) ?? { trials: 0, converted: 0, expired: 0 };
  return holdoutReport(counts(false), counts(true));
}
