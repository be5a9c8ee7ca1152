/**
 * Whether a user's stored events meet the app's aha rules. Ingestion asks it of counted
 * rules as events arrive; a new trial's workflow asks it once, before its first segment,
 * so events that came before the trial (or whose signal was lost) still count.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { requiredCount, rulesFrom, type AhaRule } from '../../core/aha-rules.ts';
import { loadSettings, type SettingsView } from './settings.service.ts';

/**
 * Whether the user's stored events meet the rule; for an account (`accountId`), only the events
 * that count for it: those naming it, and those naming no account.
 */
export async function eventsMeetRule(em: EntityManager, appId: string, userId: string, rule: AhaRule, accountId: string | null = null): Promise<boolean> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ n: string }>>(
      `select count(*) as n from events where app_id = ? and user_id = ? and event = ?` +
        (accountId === null ? '' : ' and (group_id is null or group_id = ?)') +
        (rule.property ? ` and properties #>> string_to_array(?, '.') ${rule.equals == null ? 'is not null' : '= ?'}` : ''),
      [
        appId,
        userId,
        rule.event,
        ...(accountId === null ? [] : [accountId]),
        ...(rule.property ? [rule.property] : []),
        ...(rule.property && rule.equals != null ? [rule.equals] : []),
      ],
    );
  return Number(row?.n ?? 0) >= requiredCount(rule);
}

/** The app's aha rules that count for segments (events outside an allow-list do not). */
export function segmentAhaRules(settings: SettingsView): AhaRule[] {
  return rulesFrom(settings.ahaEvents, settings.ahaRules).filter((rule) => settings.eventAllowList === null || settings.eventAllowList.includes(rule.event));
}

/** Whether the user's stored events (for an account: those that count for it) meet any of the rules. */
export async function eventsMeetAnyRule(em: EntityManager, appId: string, userId: string, rules: AhaRule[], accountId: string | null = null): Promise<boolean> {
  for (const rule of rules) if (await eventsMeetRule(em, appId, userId, rule, accountId)) return true;
  return false;
}

export async function storedEventsReachAha(em: EntityManager, appId: string, userId: string): Promise<boolean> {
  return eventsMeetAnyRule(em, appId, userId, segmentAhaRules(await loadSettings(em, appId)));
}

/**
 * The people among the app's open trials, not yet at aha, whose stored events already meet one of
 * the rules (what a settings change to these rules would find): one grouped query a rule.
 */
export async function openTrialUsersMeetingRules(em: EntityManager, appId: string, rules: AhaRule[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const rule of rules) {
    const rows = await em.getConnection().execute<Array<{ user_id: string }>>(
      `select e.user_id from events e
        where e.app_id = ? and e.event = ?` +
        (rule.property ? ` and e.properties #>> string_to_array(?, '.') ${rule.equals == null ? 'is not null' : '= ?'}` : '') +
        ` and e.user_id in (select t.user_id from trials t where t.app_id = ? and t.user_id is not null and t.aha_reached_at is null
                               and (t.segment is null or t.segment not in ('converted', 'expired')))
        group by e.user_id having count(*) >= ?`,
      [
        appId,
        rule.event,
        ...(rule.property ? [rule.property] : []),
        ...(rule.property && rule.equals != null ? [rule.equals] : []),
        appId,
        requiredCount(rule),
      ],
    );
    for (const row of rows) found.add(row.user_id);
  }
  return found;
}
