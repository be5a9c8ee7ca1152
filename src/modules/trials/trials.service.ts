import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { FieldError } from '../../core/field-error.ts';
import { fieldErrorsOf } from '../../core/field-error.ts';
import { newId } from '../../ids.ts';
import { APP_ID_ATTRIBUTE } from '../../core/search-attributes.ts';
import { cancelUpdate, convertUpdate, extendTrialUpdate, type TrialLifecycleInput } from '../../core/trial-lifecycle.messages.ts';
import { loadSettings, toSegmentSettings } from './settings.service.ts';
import { isFinalSegment } from '../../core/segments.ts';
import { trialWorkflowId, type TrialSubject } from '../../core/account-rules.ts';
import { App } from '../apps/app.entity.ts';
import { Trial, type ITrial } from './trial.entity.ts';
import { eraseDeliveryPersonalData } from '../webhooks/erasure.ts';
import { withCallDeadline } from '../../infra/temporal-deadline.ts';

export const DEFAULT_TRIAL_DAYS = 14;
const DAY_MS = 86_400_000;

/** What starts a trial: a person's (userId) or an account's (accountId), from GraphQL, Segment calls or Stripe. */
export interface StartTrialInput {
  appId: string;
  userId?: string | null;
  accountId?: string | null;
  email?: string | null;
  stripeCustomerId?: string | null;
  trialStart?: Date | null;
  trialEnd?: Date | null;
}

/** The subject of a start that passed startTrialRules (exactly one of userId and accountId). */
export function subjectOf(input: { userId?: string | null; accountId?: string | null }): TrialSubject {
  return input.accountId != null ? { kind: 'account', accountId: input.accountId } : { kind: 'user', userId: input.userId! };
}

/** A stored trial's subject. */
export const subjectOfTrial = (trial: Pick<ITrial, 'userId' | 'accountId'>): TrialSubject =>
  trial.accountId != null ? { kind: 'account', accountId: trial.accountId } : { kind: 'user', userId: trial.userId! };

/** The trial's own columns for its subject, to find it by. */
export const subjectWhere = (subject: TrialSubject) => (subject.kind === 'user' ? { userId: subject.userId } : { accountId: subject.accountId });

/** How an answer names a subject: `user u-1`, `account acme`. */
export const describeSubject = (subject: TrialSubject) => (subject.kind === 'user' ? `user ${subject.userId}` : `account ${subject.accountId}`);

/** The input field that names the subject, for field errors. */
const subjectField = (subject: TrialSubject) => (subject.kind === 'user' ? 'userId' : 'accountId');

export interface TrialDeps {
  em: EntityManager;
  temporal: Client;
  taskQueue: string;
}

/**
 * What a trial start must satisfy, from GraphQL (StartTrialInput's validation), Segment
 * identify traits and Stripe alike. Every problem is reported at once: the time rule runs
 * even when a field is already refused.
 */
/** Exactly one of userId and accountId: which trial an input means (starts, commands, the trial query alike). */
export const exactlyOneSubject = {
  check: (input: { userId?: unknown; accountId?: unknown }) => (input.userId == null) !== (input.accountId == null),
  issue: { path: ['userId'], error: "give exactly one of userId (a person's trial) and accountId (an account's)" },
};

const subjectId = (field: string) => z.string().refine((id) => id.trim() !== '' && id.length <= 255, `${field} must be 1 to 255 characters`);

export const startTrialRules = z
  .looseObject({
    userId: subjectId('userId').nullish(),
    accountId: subjectId('accountId').nullish(),
    email: z
      .string()
      .regex(/^[^\s@]+@[^\s@]+$/, { error: (issue) => `email ${JSON.stringify(issue.input)} is not an email address` })
      .max(255, 'email must be at most 255 characters')
      .nullish(),
  })
  .refine(exactlyOneSubject.check, { ...exactlyOneSubject.issue, when: () => true })
  .refine((input) => input.accountId == null || input.email == null, {
    path: ['email'],
    error: "an account's trial has no email of its own: its members' come from their identify calls",
    when: () => true,
  })
  .refine(
    (input) => {
      const { trialStart, trialEnd } = input as Pick<StartTrialInput, 'trialStart' | 'trialEnd'>;
      return !(trialEnd instanceof Date) || trialEnd.getTime() > (trialStart instanceof Date ? trialStart : new Date()).getTime();
    },
    { path: ['trialEnd'], error: 'trialEnd must be after trialStart', when: () => true },
  );

/** The start defaults to now and the end to 14 days after the start. */
export function validateStartTrial(input: StartTrialInput, now: Date): { errors: FieldError[]; trialStart: Date; trialEnd: Date } {
  const trialStart = input.trialStart ?? now;
  const trialEnd = input.trialEnd ?? new Date(trialStart.getTime() + DEFAULT_TRIAL_DAYS * DAY_MS);
  const checked = startTrialRules.safeParse(input);
  return { errors: checked.success ? [] : fieldErrorsOf(checked.error.issues), trialStart, trialEnd };
}

/** An account trial's account exists from its start, before any group call names it. */
const ENSURE_ACCOUNT = `insert into accounts (app_id, account_id, name, traits, created_at, updated_at)
values (?, ?, null, '{}', now(), now()) on conflict (app_id, account_id) do nothing`;

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
  const subject = subjectOf(input);

  let trial = await em.findOne(Trial, { app, ...subjectWhere(subject) });
  if (!trial) {
    if (subject.kind === 'account') await em.execute(ENSURE_ACCOUNT, [app.id, subject.accountId]);
    trial = em.create(Trial, {
      id: newId('trl'),
      app,
      userId: subject.kind === 'user' ? subject.userId : null,
      accountId: subject.kind === 'account' ? subject.accountId : null,
      email: subject.kind === 'user' ? (input.email ?? null) : null,
      stripeCustomerId: input.stripeCustomerId ?? null,
      trialStart,
      trialEnd,
      workflowId: trialWorkflowId(app.id, subject),
    });
    await em.flush();
  }
  const args: TrialLifecycleInput = {
    appId: app.id,
    trialId: trial.id,
    trialStart: trial.trialStart.toISOString(),
    trialEnd: trial.trialEnd.toISOString(),
    settings: toSegmentSettings(await loadSettings(em, app.id)),
    ...(subject.kind === 'account' ? { kind: 'account' as const } : {}),
  };
  await withCallDeadline(deps.temporal, () =>
    deps.temporal.workflow.start('trialLifecycle', {
      workflowId: trial.workflowId,
      taskQueue: deps.taskQueue,
      args: [args],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: APP_ID_ATTRIBUTE, value: app.id }],
    }),
  );
  return { trial, errors: [] };
}

export type TrialCommand = { kind: 'extend'; trialEnd: Date } | { kind: 'convert' } | { kind: 'cancel' };

const notFound = (appId: string, subject: TrialSubject): FieldError[] => [
  { field: subjectField(subject), message: `no trial for ${describeSubject(subject)} in app ${appId}`, code: 'NOT_FOUND' },
];

/**
 * Deletes a trial: an open trial's workflow is cancelled first (an update, so it ends
 * cleanly and says so to subscribers and webhooks), then the trial and its changes go, and
 * the user's personal data is erased from the webhook payloads and attempts that carried it.
 * The app's events stay: they are the app's data, erased by a Segment `delete` call.
 */
export async function deleteTrial(
  deps: Omit<TrialDeps, 'taskQueue'>,
  appId: string,
  subject: TrialSubject,
): Promise<{ deletedId?: string; errors: FieldError[] }> {
  const trial = await deps.em.findOne(Trial, { app: appId, ...subjectWhere(subject) });
  if (!trial) return { errors: notFound(appId, subject) };
  if (!isFinalSegment(trial.segment)) {
    const cancelled = await runTrialCommand(deps, appId, subject, { kind: 'cancel' });
    if (cancelled.errors.some((error) => error.code !== 'TRIAL_FINAL')) return { errors: cancelled.errors };
  }
  const id = trial.id;
  await deps.em.remove(trial).flush();
  await eraseDeliveryPersonalData(deps.em, id);
  return { deletedId: id, errors: [] };
}

/**
 * Extend, convert or cancel: a workflow update (validated by the workflow, which owns the
 * trial's state), never a database write behind its back. A refusal comes back as data.
 */
export async function runTrialCommand(
  deps: Omit<TrialDeps, 'taskQueue'>,
  appId: string,
  subject: TrialSubject,
  command: TrialCommand,
): Promise<{ trial?: ITrial; errors: FieldError[] }> {
  const trial = await deps.em.findOne(Trial, { app: appId, ...subjectWhere(subject) });
  if (!trial) return { errors: notFound(appId, subject) };
  // A final trial's workflow has completed and takes no more updates.
  if (isFinalSegment(trial.segment)) {
    return { errors: [{ field: null, message: `the trial is already ${trial.segment}`, code: 'TRIAL_FINAL' }] };
  }
  const handle = deps.temporal.workflow.getHandle(trial.workflowId);
  try {
    if (command.kind === 'extend') await handle.executeUpdate(extendTrialUpdate, { args: [{ trialEnd: command.trialEnd.toISOString() }] });
    else await handle.executeUpdate(command.kind === 'convert' ? convertUpdate : cancelUpdate);
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause as { message?: string; type?: string } | undefined;
      return {
        errors: [
          {
            field: command.kind === 'extend' ? 'trialEnd' : null,
            message: cause?.message ?? error.message,
            code: cause?.type === 'TrialFinal' ? 'TRIAL_FINAL' : 'INVALID',
          },
        ],
      };
    }
    throw error;
  }
  await deps.em.refresh(trial);
  return { trial, errors: [] };
}

/**
 * The trials service, built once with its dependencies; each call works in the caller's
 * EntityManager (a fork per request or per message).
 */
/** Where an operator reads workflows: a Temporal Web UI and the namespace the trials run in. */
export interface WorkflowUi {
  url: string;
  namespace: string;
}

export function createTrials({ temporal, taskQueue, workflowUi }: { temporal: Client; taskQueue: string; workflowUi: WorkflowUi | null }) {
  return {
    /** The trial's lifecycle workflow in the Temporal Web UI; null when none is known to this process. */
    workflowUrl: (workflowId: string): string | null =>
      workflowUi && `${workflowUi.url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(workflowUi.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
    start: (em: EntityManager, input: StartTrialInput) => startTrial({ em, temporal, taskQueue }, input),
    command: (em: EntityManager, appId: string, subject: TrialSubject, command: TrialCommand) => runTrialCommand({ em, temporal }, appId, subject, command),
    remove: (em: EntityManager, appId: string, subject: TrialSubject) => deleteTrial({ em, temporal }, appId, subject),
  };
}

export type Trials = ReturnType<typeof createTrials>;
