/**
 * Whether a user's stored events meet the app's aha rules. Ingestion asks it of counted
 * rules as events arrive; a new trial's workflow asks it once, before its first segment,
 * so events that came before the trial (or whose signal was lost) still count.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { requiredCount, rulesFrom, type AhaRule } from '../../core/aha-rules.ts';
import { FINAL_SEGMENTS } from '../../core/segments.ts';
import { loadSettings, type SettingsView } from './settings.service.ts';

/** A rule's property match on `events` (none without a property): its SQL after `and`, and its parameters. */
function propertyMatch(rule: AhaRule, alias = ''): { sql: string; params: string[] } {
  if (!rule.property) return { sql: '', params: [] };
  return {
    sql: ` and ${alias}properties #>> string_to_array(?, '.') ${rule.equals == null ? 'is not null' : '= ?'}`,
    params: rule.equals == null ? [rule.property] : [rule.property, rule.equals],
  };
}

/**
 * Whether the user's stored events meet the rule; for an account (`accountId`), only the events
 * that count for it: those naming it, and those naming no account.
 */
export async function eventsMeetRule(em: EntityManager, appId: string, userId: string, rule: AhaRule, accountId: string | null = null): Promise<boolean> {
  const property = propertyMatch(rule);
  const [row] = await em
    .getConnection()
    .execute<Array<{ n: string }>>(
      `select count(*) as n from events where app_id = ? and user_id = ? and event = ?` +
        (accountId === null ? '' : ' and (group_id is null or group_id = ?)') +
        property.sql,
      [appId, userId, rule.event, ...(accountId === null ? [] : [accountId]), ...property.params],
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
  const finished = [...FINAL_SEGMENTS].map((segment) => `'${segment}'`).join(', ');
  for (const rule of rules) {
    const property = propertyMatch(rule, 'e.');
    const rows = await em.getConnection().execute<Array<{ user_id: string }>>(
      `select e.user_id from events e
        where e.app_id = ? and e.event = ?` +
        property.sql +
        ` and e.user_id in (select t.user_id from trials t where t.app_id = ? and t.user_id is not null and t.aha_reached_at is null
                               and (t.segment is null or t.segment not in (${finished})))
        group by e.user_id having count(*) >= ?`,
      [appId, rule.event, ...property.params, appId, requiredCount(rule)],
    );
    for (const row of rows) found.add(row.user_id);
  }
  return found;
}
