import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { FieldError } from '../../core/field-error.ts';
import { settingsChangedSignal, settingsRolloutWorkflowId, type SettingsRolloutInput } from '../../core/trial-lifecycle.messages.ts';
import { AppSettings } from './app-settings.entity.ts';
import type { AhaRule } from '../../core/aha-rules.ts';
import { parseIsoDuration } from '../../core/durations.ts';
import { DEFAULT_ACCOUNT_AHA_MEMBERS, MAX_ACCOUNT_AHA_MEMBERS } from '../../core/account-rules.ts';
import type { SegmentSettings } from '../../core/segment-rules.ts';
import { FINAL_SEGMENTS } from '../../core/segments.ts';
import { unlessWorkflowEnded } from '../../infra/temporal-errors.ts';

/** Settings as users write them: event names and ISO-8601 durations. */
export interface SettingsView {
  appId: string;
  ahaEvents: string[];
  ahaRules: AhaRule[];
  conversionEvents: string[];
  eventAllowList: string[] | null;
  /** Null: any origin; else the origins (scheme://host[:port]) whose pages may send events. */
  allowedOrigins: string[] | null;
  rateLimitPerSecond: number;
  /** Members of an account who must reach aha before the account has found value (account trials). */
  accountAhaMembers: number;
  inactivityAfter: string;
  endingSoonBefore: string;
  lastChanceBefore: string;
  /** The saved row's revision (null for defaults or a row saved before revisions): tells a cached copy from the current one. */
  revision: string | null;
}

export const DEFAULT_SETTINGS: Omit<SettingsView, 'appId'> = {
  ahaEvents: [],
  ahaRules: [],
  conversionEvents: [],
  eventAllowList: null,
  allowedOrigins: null,
  rateLimitPerSecond: 1000,
  accountAhaMembers: DEFAULT_ACCOUNT_AHA_MEMBERS,
  inactivityAfter: 'P3D',
  endingSoonBefore: 'P3D',
  lastChanceBefore: 'P1D',
  revision: null,
};

export async function loadSettings(em: EntityManager, appId: string): Promise<SettingsView> {
  const row = await em.findOne(AppSettings, { appId });
  return row
    ? {
        appId,
        ahaEvents: row.ahaEvents,
        ahaRules: row.ahaRules,
        conversionEvents: row.conversionEvents,
        eventAllowList: row.eventAllowList ?? null,
        allowedOrigins: row.allowedOrigins ?? null,
        rateLimitPerSecond: row.rateLimitPerSecond,
        accountAhaMembers: row.accountAhaMembers,
        inactivityAfter: row.inactivityAfter,
        endingSoonBefore: row.endingSoonBefore,
        lastChanceBefore: row.lastChanceBefore,
        revision: row.revision ?? null,
      }
    : { appId, ...DEFAULT_SETTINGS };
}

/** The workflow's view: exact milliseconds. Only called on validated settings. */
export function toSegmentSettings(view: SettingsView): SegmentSettings {
  return {
    inactivityAfterMs: parseIsoDuration(view.inactivityAfter)!,
    endingSoonBeforeMs: parseIsoDuration(view.endingSoonBefore)!,
    lastChanceBeforeMs: parseIsoDuration(view.lastChanceBefore)!,
    revision: view.revision,
  };
}

export type SettingsInput = { [K in keyof Omit<SettingsView, 'appId' | 'eventAllowList' | 'allowedOrigins' | 'revision'>]?: SettingsView[K] | null } & {
  /** An empty list removes the allow-list. */
  eventAllowList?: string[] | null;
  /** An empty list allows every origin again. */
  allowedOrigins?: string[] | null;
};

/** An origin as browsers send it: scheme, host and an optional port, nothing else. */
export const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

const eventNames = (field: string, max: number) =>
  z
    .array(z.string().refine((name) => name.trim() !== '' && name.trim().length <= 200, `${field} entries must be 1 to 200 characters`))
    .max(max, `${field} takes at most ${max} event names`);

const duration = (field: string) =>
  z.string().refine((text) => (parseIsoDuration(text) ?? 0) >= 1000, {
    error: (issue) => `${field} must be an ISO-8601 duration of at least one second, such as P3D or PT30S; got ${JSON.stringify(issue.input)}`,
  });

const ahaRule = z
  .looseObject({
    event: z.string().refine((event) => event.trim() !== '' && event.length <= 200, 'event must be 1 to 200 characters'),
    count: z.number().int().min(1, 'count must be 1 to 10000').max(10_000, 'count must be 1 to 10000').nullish(),
  })
  .refine((rule) => rule['equals'] == null || !!rule['property'], { path: ['property'], error: 'a property is needed when equals is given' });

/** UpdateSegmentSettingsInput's rules (its validation in GraphQL); a field left out is not checked. */
export const settingsInputRules = z.looseObject({
  ahaEvents: eventNames('ahaEvents', 100).nullish(),
  conversionEvents: eventNames('conversionEvents', 100).nullish(),
  eventAllowList: eventNames('eventAllowList', 1000).nullish(),
  allowedOrigins: z
    .array(
      z.string().refine((origin) => ORIGIN.test(origin), {
        error: (issue) => `allowedOrigins entry ${JSON.stringify(issue.input)} is not an origin such as https://app.example.com`,
      }),
    )
    .max(100, 'allowedOrigins takes at most 100 origins')
    .nullish(),
  ahaRules: z.array(ahaRule).max(50, 'at most 50 aha rules').nullish(),
  rateLimitPerSecond: z.number().int().min(1, 'rateLimitPerSecond must be 1 to 1000000').max(1_000_000, 'rateLimitPerSecond must be 1 to 1000000').nullish(),
  accountAhaMembers: z
    .number()
    .int()
    .min(1, `accountAhaMembers must be 1 to ${MAX_ACCOUNT_AHA_MEMBERS}`)
    .max(MAX_ACCOUNT_AHA_MEMBERS, `accountAhaMembers must be 1 to ${MAX_ACCOUNT_AHA_MEMBERS}`)
    .nullish(),
  inactivityAfter: duration('inactivityAfter').nullish(),
  endingSoonBefore: duration('endingSoonBefore').nullish(),
  lastChanceBefore: duration('lastChanceBefore').nullish(),
});

const cleanNames = (names: string[]) => [...new Set(names.map((name) => name.trim()))];

/**
 * Pure: merges input that passed settingsInputRules over the current settings (names
 * trimmed and de-duplicated, durations upper-cased) and checks what depends on both.
 */
export function mergeSettings(current: SettingsView, input: SettingsInput): { view: SettingsView; errors: FieldError[] } {
  const view: SettingsView = { ...current };
  if (input.eventAllowList != null) view.eventAllowList = input.eventAllowList.length ? cleanNames(input.eventAllowList) : null;
  if (input.allowedOrigins != null)
    view.allowedOrigins = input.allowedOrigins.length ? [...new Set(input.allowedOrigins.map((origin) => origin.toLowerCase()))] : null;
  if (input.ahaEvents != null) view.ahaEvents = cleanNames(input.ahaEvents);
  if (input.conversionEvents != null) view.conversionEvents = cleanNames(input.conversionEvents);
  if (input.rateLimitPerSecond != null) view.rateLimitPerSecond = input.rateLimitPerSecond;
  if (input.accountAhaMembers != null) view.accountAhaMembers = input.accountAhaMembers;
  if (input.ahaRules != null) {
    view.ahaRules = input.ahaRules.map((rule) => ({
      event: rule.event.trim(),
      property: rule.property ?? null,
      equals: rule.equals ?? null,
      count: rule.count ?? 1,
    }));
  }
  for (const field of ['inactivityAfter', 'endingSoonBefore', 'lastChanceBefore'] as const) {
    const text = input[field];
    if (text != null) view[field] = text.trim().toUpperCase();
  }
  if (parseIsoDuration(view.lastChanceBefore)! > parseIsoDuration(view.endingSoonBefore)!) {
    return { view, errors: [{ field: 'lastChanceBefore', message: 'lastChanceBefore must not be longer than endingSoonBefore', code: 'INVALID' }] };
  }
  return { view, errors: [] };
}

/** Trials signalled by one activity of a settings rollout. */
export const ROLLOUT_PAGE_SIZE = 500;

/**
 * Saves the settings and starts their rollout to every open trial of the app (a workflow that
 * signals them a page at a time; a rollout still running for an older change is replaced).
 */
export async function updateSettings(
  deps: { em: EntityManager; temporal: Client; taskQueue: string; onSaved: (appId: string) => void },
  appId: string,
  input: SettingsInput,
): Promise<{ settings?: SettingsView; errors: FieldError[] }> {
  const { em, temporal, taskQueue } = deps;
  const { view, errors } = mergeSettings(await loadSettings(em, appId), input);
  if (errors.length) return { errors };
  view.revision = randomUUID();
  await em.upsert(AppSettings, { ...view });
  deps.onSaved(appId);
  const rollout: SettingsRolloutInput = { appId, settings: toSegmentSettings(view), after: null, pageSize: ROLLOUT_PAGE_SIZE };
  await temporal.workflow.start('settingsRollout', {
    workflowId: settingsRolloutWorkflowId(appId),
    taskQueue,
    args: [rollout],
    workflowIdConflictPolicy: 'TERMINATE_EXISTING',
  });
  return { settings: view, errors: [] };
}

/**
 * One page of a rollout: the app's open trials after `after` (by id), each signalled with the
 * settings (50 at a time); the last id, or null when this was the last page.
 */
export async function signalSettingsPage(
  deps: { em: EntityManager; temporal: Client },
  page: Omit<SettingsRolloutInput, 'signalled'>,
): Promise<{ signalled: number; next: string | null }> {
  const open: Array<{ id: string; workflow_id: string }> = await deps.em.execute(
    `select id, workflow_id from trials
     where app_id = ? and (segment is null or segment not in (${[...FINAL_SEGMENTS].map(() => '?').join(', ')})) and id > ?
     order by id limit ?`,
    [page.appId, ...FINAL_SEGMENTS, page.after ?? '', page.pageSize],
  );
  for (let i = 0; i < open.length; i += 50) {
    await Promise.all(
      open.slice(i, i + 50).map((trial) =>
        deps.temporal.workflow
          .getHandle(trial.workflow_id)
          .signal(settingsChangedSignal, page.settings)
          // A workflow that ended meanwhile has nothing to re-evaluate.
          .catch(unlessWorkflowEnded),
      ),
    );
  }
  return { signalled: open.length, next: open.length === page.pageSize ? open.at(-1)!.id : null };
}

/**
 * The settings service: reading is plain, saving rolls the change out to the app's open trials
 * through Temporal. `onSaved`: what else in the process keeps settings (ingestion's short cache) forgets the app's.
 */
export function createSettings({ temporal, taskQueue, onSaved }: { temporal: Client; taskQueue: string; onSaved: (appId: string) => void }) {
  return {
    load: loadSettings,
    update: (em: EntityManager, appId: string, input: SettingsInput) => updateSettings({ em, temporal, taskQueue, onSaved }, appId, input),
  };
}

export type SettingsService = ReturnType<typeof createSettings>;

/** Settings rollouts running now (Temporal's visibility count): the metrics' rollouts-in-progress gauge. */
export async function countRunningRollouts(temporal: Client): Promise<number> {
  const { count } = await temporal.workflow.count('WorkflowType = "settingsRollout" AND ExecutionStatus = "Running"');
  return count;
}
