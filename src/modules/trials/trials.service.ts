import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { FieldError } from '../../graphql/common.ts';
import { newId } from '../../ids.ts';
import { APP_ID_ATTRIBUTE } from '../../temporal/search-attributes.ts';
import type { TrialLifecycleInput } from '../../../workflows/trial-lifecycle.ts';
import { App } from '../apps/app.entity.ts';
import { Trial, type ITrial } from './trial.entity.ts';

export const DEFAULT_TRIAL_DAYS = 14;
const DAY_MS = 86_400_000;

/** The lifecycle workflow's id: one workflow per (app, user), readable in the Temporal UI. */
export function trialWorkflowId(appId: string, userId: string): string {
  return `trial:${appId}:${userId}`;
}

export interface StartTrialInput {
  appId: string;
  userId: string;
  email?: string | null;
  stripeCustomerId?: string | null;
  trialStart?: Date | null;
  trialEnd?: Date | null;
}

export interface TrialDeps {
  em: EntityManager;
  temporal: Client;
  taskQueue: string;
}

/** Pure input rules; the start defaults to now and the end to 14 days after the start. */
export function validateStartTrial(input: StartTrialInput, now: Date): { errors: FieldError[]; trialStart: Date; trialEnd: Date } {
  const errors: FieldError[] = [];
  const trialStart = input.trialStart ?? now;
  const trialEnd = input.trialEnd ?? new Date(trialStart.getTime() + DEFAULT_TRIAL_DAYS * DAY_MS);
  if (input.userId.trim() === '' || input.userId.length > 255) {
    errors.push({ field: 'userId', message: 'userId must be 1 to 255 characters', code: 'INVALID' });
  }
  if (input.email != null && !/^[^\s@]+@[^\s@]+$/.test(input.email)) {
    errors.push({ field: 'email', message: `email ${JSON.stringify(input.email)} is not an email address`, code: 'INVALID' });
  }
  if (trialEnd.getTime() <= trialStart.getTime()) {
    errors.push({ field: 'trialEnd', message: 'trialEnd must be after trialStart', code: 'INVALID' });
  }
  return { errors, trialStart, trialEnd };
}

/**
 * Creates the trial (or finds it: starting twice is harmless) and makes sure its lifecycle
 * workflow runs. The workflow, not this function, records segments.
 */
export async function startTrial(deps: TrialDeps, input: StartTrialInput): Promise<{ trial?: ITrial; errors: FieldError[] }> {
  const { errors, trialStart, trialEnd } = validateStartTrial(input, new Date());
  if (errors.length) return { errors };
  const { em } = deps;
  const app = await em.findOne(App, { id: input.appId });
  if (!app) return { errors: [{ field: 'appId', message: `no app ${input.appId}`, code: 'NOT_FOUND' }] };

  let trial = await em.findOne(Trial, { app, userId: input.userId });
  if (!trial) {
    trial = em.create(Trial, {
      id: newId('trl'),
      app,
      userId: input.userId,
      email: input.email ?? null,
      stripeCustomerId: input.stripeCustomerId ?? null,
      trialStart,
      trialEnd,
      workflowId: trialWorkflowId(app.id, input.userId),
    });
    await em.flush();
  }
  const args: TrialLifecycleInput = { appId: app.id, trialId: trial.id, trialEnd: trial.trialEnd.toISOString() };
  await deps.temporal.workflow.start('trialLifecycle', {
    workflowId: trial.workflowId,
    taskQueue: deps.taskQueue,
    args: [args],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: APP_ID_ATTRIBUTE, value: app.id }],
  });
  return { trial, errors: [] };
}
