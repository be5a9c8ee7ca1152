import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { AhaRule } from '../../core/aha-rules.ts';

/** An app's segment settings; an app without a row uses the defaults. */
export const AppSettings = defineEntity({
  name: 'AppSettings',
  tableName: 'app_settings',
  properties: {
    /** The app's id (one row per app). */
    appId: p.string().primary(),
    ahaEvents: p.json<string[]>(),
    /** Aha rules beyond bare names: a property match and a count. */
    ahaRules: p.json<AhaRule[]>(),
    conversionEvents: p.json<string[]>(),
    /** Null: every event counts for segments; else only these names (identify always). */
    eventAllowList: p.json<string[]>().nullable(),
    /** Null: browsers on any origin may send events (as Segment allows); else only pages on these origins. */
    allowedOrigins: p.json<string[]>().nullable(),
    /** Events a second accepted per API process, bursts of two seconds' worth. */
    rateLimitPerSecond: p.integer().default(1000),
    /** Members of an account who must reach aha before the account counts as having found value. */
    accountAhaMembers: p.integer().default(1),
    /** ISO-8601 durations, kept as the user wrote them. */
    inactivityAfter: p.string(),
    endingSoonBefore: p.string(),
    lastChanceBefore: p.string(),
    /** Replaced by every save: a cached copy whose revision differs from the row's is stale. Null: never saved since revisions began. */
    revision: p.string().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type IAppSettings = InferEntity<typeof AppSettings>;
