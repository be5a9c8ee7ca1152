/**
 * Whether a user's stored events meet the app's aha rules. Ingestion asks it of counted
 * rules as events arrive; a new trial's workflow asks it once, before its first segment,
 * so events that came before the trial (or whose signal was lost) still count.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { requiredCount, rulesFrom, type AhaRule } from '../../core/aha-rules.ts';
import { loadSettings } from './settings.service.ts';

export async function eventsMeetRule(em: EntityManager, appId: string, userId: string, rule: AhaRule): Promise<boolean> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ n: string }>>(
      `select count(*) as n from events where app_id = ? and user_id = ? and event = ?` +
        (rule.property ? ` and properties #>> string_to_array(?, '.') ${rule.equals == null ? 'is not null' : '= ?'}` : ''),
      [appId, userId, rule.event, ...(rule.property ? [rule.property] : []), ...(rule.property && rule.equals != null ? [rule.equals] : [])],
    );
  return Number(row?.n ?? 0) >= requiredCount(rule);
}

export async function storedEventsReachAha(em: EntityManager, appId: string, userId: string): Promise<boolean> {
  const settings = await loadSettings(em, appId);
  // Events outside an allow-list do not count for segments.
  const rules = rulesFrom(settings.ahaEvents, settings.ahaRules).filter(
    (rule) => settings.eventAllowList === null || settings.eventAllowList.includes(rule.event),
  );
  for (const rule of rules) if (await eventsMeetRule(em, appId, userId, rule)) return true;
  return false;
}
