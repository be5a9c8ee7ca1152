import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { FieldError } from '../../graphql/common.ts';
import { settingsChangedSignal } from '../../../workflows/trial-lifecycle.messages.ts';
import { AppSettings } from './app-settings.entity.ts';
import type { AhaRule } from './aha-rules.ts';
import { parseIsoDuration } from './durations.ts';
import type { SegmentSettings } from './segment-rules.ts';
import { FINAL_SEGMENTS } from './segments.ts';
import { Trial } from './trial.entity.ts';

/** Settings as users write them: event names and ISO-8601 durations. */
export interface SettingsView {
  appId: string;
  ahaEvents: string[];
  ahaRules: AhaRule[];
  conversionEvents: string[];
  eventAllowList: string[] | null;
  rateLimitPerSecond: number;
  inactivityAfter: string;
  endingSoonBefore: string;
  lastChanceBefore: string;
}

export const DEFAULT_SETTINGS: Omit<SettingsView, 'appId'> = {
  ahaEvents: [],
  ahaRules: [],
  conversionEvents: [],
  eventAllowList: null,
  rateLimitPerSecond: 1000,
  inactivityAfter: 'P3D',
  endingSoonBefore: 'P3D',
  lastChanceBefore: 'P1D',
};

export async function loadSettings(em: EntityManager, appId: string): Promise<SettingsView> {
  const row = await em.findOne(AppSettings, { appId });
  return row
    ? { appId, ahaEvents: row.ahaEvents, ahaRules: row.ahaRules, conversionEvents: row.conversionEvents, eventAllowList: row.eventAllowList ?? null, rateLimitPerSecond: row.rateLimitPerSecond, inactivityAfter: row.inactivityAfter, endingSoonBefore: row.endingSoonBefore, lastChanceBefore: row.lastChanceBefore }
    : { appId, ...DEFAULT_SETTINGS };
}

/** The workflow's view: exact milliseconds. Only called on validated settings. */
export function toSegmentSettings(view: SettingsView): SegmentSettings {
  return {
    inactivityAfterMs: parseIsoDuration(view.inactivityAfter)!,
    endingSoonBeforeMs: parseIsoDuration(view.endingSoonBefore)!,
    lastChanceBeforeMs: parseIsoDuration(view.lastChanceBefore)!,
  };
}

export type SettingsInput = { [K in keyof Omit<SettingsView, 'appId' | 'eventAllowList'>]?: SettingsView[K] | null } & {
  /** An empty list removes the allow-list. */
  eventAllowList?: string[] | null;
};

/** Pure: merges the input over the current settings and names every bad field. */
export function mergeSettings(current: SettingsView, input: SettingsInput): { view: SettingsView; errors: FieldError[] } {
  const view: SettingsView = { ...current };
  const errors: FieldError[] = [];
  if (input.eventAllowList != null) {
    const names = [...new Set(input.eventAllowList.map((name) => name.trim()))];
    if (names.some((name) => name === '' || name.length > 200) || names.length > 1000) {
      errors.push({ field: 'eventAllowList', message: 'eventAllowList takes up to 1000 names of 1 to 200 characters', code: 'INVALID' });
    } else view.eventAllowList = names.length ? names : null;
  }
  if (input.rateLimitPerSecond != null) {
    if (!Number.isInteger(input.rateLimitPerSecond) || input.rateLimitPerSecond < 1 || input.rateLimitPerSecond > 1_000_000) {
      errors.push({ field: 'rateLimitPerSecond', message: 'rateLimitPerSecond must be 1 to 1000000', code: 'INVALID' });
    } else view.rateLimitPerSecond = input.rateLimitPerSecond;
  }
  for (const field of ['ahaEvents', 'conversionEvents'] as const) {
    const names = input[field];
    if (names == null) continue;
    const cleaned = [...new Set(names.map((name) => name.trim()))];
    if (cleaned.some((name) => name === '' || name.length > 200)) {
      errors.push({ field, message: `${field} entries must be 1 to 200 characters`, code: 'INVALID' });
    } else if (cleaned.length > 100) {
      errors.push({ field, message: `${field} takes at most 100 event names`, code: 'INVALID' });
    } else view[field] = cleaned;
  }
  if (input.ahaRules != null) {
    const bad = input.ahaRules.findIndex(
      (rule) => !rule.event?.trim() || rule.event.length > 200 || (rule.count != null && (!Number.isInteger(rule.count) || rule.count < 1 || rule.count > 10_000)) || (rule.equals != null && !rule.property),
    );
    if (bad >= 0) errors.push({ field: 'ahaRules', message: `ahaRules[${bad}] needs an event name (1 to 200 characters), a count from 1 to 10000 if any, and a property when equals is given`, code: 'INVALID' });
    else if (input.ahaRules.length > 50) errors.push({ field: 'ahaRules', message: 'at most 50 aha rules', code: 'INVALID' });
    else view.ahaRules = input.ahaRules.map((rule) => ({ event: rule.event.trim(), property: rule.property ?? null, equals: rule.equals ?? null, count: rule.count ?? 1 }));
  }
  for (const field of ['inactivityAfter', 'endingSoonBefore', 'lastChanceBefore'] as const) {
    const text = input[field];
    if (text == null) continue;
    const ms = parseIsoDuration(text);
    if (ms === null || ms < 1000) {
      errors.push({ field, message: `${field} must be an ISO-8601 duration of at least one second, such as P3D or PT30S; got ${JSON.stringify(text)}`, code: 'INVALID' });
    } else view[field] = text.trim().toUpperCase();
  }
  if (errors.length === 0 && parseIsoDuration(view.lastChanceBefore)! > parseIsoDuration(view.endingSoonBefore)!) {
    errors.push({ field: 'lastChanceBefore', message: 'lastChanceBefore must not be longer than endingSoonBefore', code: 'INVALID' });
  }
  return { view, errors };
}

/** Saves the settings and re-evaluates every open trial of the app (a signal to each workflow). */
export async function updateSettings(
  deps: { em: EntityManager; temporal: Client },
  appId: string,
  input: SettingsInput,
): Promise<{ settings?: SettingsView; errors: FieldError[] }> {
  const { em, temporal } = deps;
  const { view, errors } = mergeSettings(await loadSettings(em, appId), input);
  if (errors.length) return { errors };
  await em.upsert(AppSettings, { ...view });
  const segmentSettings = toSegmentSettings(view);
  const open = await em.find(Trial, { app: appId, $or: [{ segment: null }, { segment: { $nin: [...FINAL_SEGMENTS] } }] }, { fields: ['workflowId'] });
  for (let i = 0; i < open.length; i += 50) {
    await Promise.all(
      open.slice(i, i + 50).map((trial) =>
        temporal.workflow
          .getHandle(trial.workflowId)
          .signal(settingsChangedSignal, segmentSettings)
          // A workflow that ended meanwhile has nothing to re-evaluate.
          .catch((error: Error) => (error.name === 'WorkflowNotFoundError' ? undefined : Promise.reject(error))),
      ),
    );
  }
  return { settings: view, errors: [] };
}
