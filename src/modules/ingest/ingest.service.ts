import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../logger.ts';
import { hashSecret } from '../../ids.ts';
import { activitySignal, type ActivityNotice } from '../../../workflows/trial-lifecycle.messages.ts';
import { App } from '../apps/app.entity.ts';
import { loadSettings } from '../trials/settings.service.ts';
import { startTrial } from '../trials/trials.service.ts';
import { FINAL_SEGMENTS, type SegmentKey } from '../trials/segments.ts';
import { Trial } from '../trials/trial.entity.ts';
import { EventWriter, type WriteResult } from './event-writer.ts';
import { matchesRule, requiredCount, rulesFrom, type AhaRule } from '../trials/aha-rules.ts';
import type { IngestEvent } from './segment-message.ts';

/** Segments in which the workflow believes the user is inactive: any activity can change them. */
const QUIET_SEGMENTS: ReadonlySet<string> = new Set<SegmentKey>(['gone_quiet', 'needs_nudge']);
const TRIAL_STARTED_EVENT = 'Trial Started';
const WRITE_KEY_CACHE_MS = 30_000;

export interface IngestDeps {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
}

function date(value: unknown): Date | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

/**
 * Accepts events for an app: durable (committed) first, then the effects that matter for
 * segments: trials started from identify traits or `Trial Started`, and one signal per
 * trial only when an event can change its segment (aha, conversion, activity while quiet).
 * Effects are idempotent, so a client retrying after an error redoes them safely.
 */
export class IngestService {
  readonly #deps: IngestDeps;
  readonly #writer: EventWriter;
  readonly #writeKeys = new Map<string, { appId: string | null; until: number }>();

  constructor(deps: IngestDeps) {
    this.#deps = deps;
    this.#writer = new EventWriter(deps.orm);
  }

  /** The app a write key belongs to, or null. Cached briefly: it is asked on every request. */
  async appForWriteKey(writeKey: string): Promise<string | null> {
    const hash = hashSecret(writeKey);
    const cached = this.#writeKeys.get(hash);
    if (cached && cached.until > Date.now()) return cached.appId;
    const app = await this.#deps.orm.em.fork().findOne(App, { writeKeyHash: hash }, { fields: ['id'] });
    if (this.#writeKeys.size > 10_000) this.#writeKeys.clear();
    this.#writeKeys.set(hash, { appId: app?.id ?? null, until: Date.now() + WRITE_KEY_CACHE_MS });
    return app?.id ?? null;
  }

  async ingest(appId: string, events: IngestEvent[]): Promise<{ stored: number; duplicates: number }> {
    const result = await this.#writer.write(appId, events);
    await this.#applyEffects(appId, result);
    const stored = result.events.filter((written) => written.fresh).length;
    return { stored, duplicates: events.length - stored };
  }

  /** Whether this event completes an aha rule; counted rules count the user's stored events. */
  async #reachesAha(appId: string, userId: string, rules: AhaRule[], name: string | null, properties: Record<string, unknown>): Promise<boolean> {
    for (const rule of rules.filter((candidate) => matchesRule(candidate, name, properties))) {
      const needed = requiredCount(rule);
      if (needed === 1) return true;
      const [row] = await this.#deps.orm.em.fork().getConnection().execute<Array<{ n: string }>>(
        `select count(*) as n from events where app_id = ? and user_id = ? and event = ?` +
          (rule.property ? ` and properties #>> string_to_array(?, '.') ${rule.equals == null ? 'is not null' : '= ?'}` : ''),
        [appId, userId, rule.event, ...(rule.property ? [rule.property] : []), ...(rule.property && rule.equals != null ? [rule.equals] : [])],
      );
      if (Number(row?.n ?? 0) >= needed) return true;
    }
    return false;
  }

  async #applyEffects(appId: string, result: WriteResult): Promise<void> {
    const { orm, temporal, taskQueue, logger } = this.#deps;
    const em = orm.em.fork();

    for (const { event } of result.events) {
      if (!event.userId) continue;
      const startsTrial =
        (event.type === 'identify' && (event.traits.trial_end != null || event.traits.trial_start != null)) ||
        (event.type === 'track' && event.event === TRIAL_STARTED_EVENT);
      if (!startsTrial) continue;
      const facts = event.type === 'identify' ? event.traits : event.properties;
      const email = typeof event.traits.email === 'string' ? event.traits.email : typeof facts.email === 'string' ? facts.email : null;
      const started = await startTrial({ em, temporal, taskQueue }, {
        appId,
        userId: event.userId,
        email,
        trialStart: date(facts.trial_start) ?? event.timestamp,
        trialEnd: date(facts.trial_end),
      });
      if (started.errors.length) logger.warn({ appId, userId: event.userId, errors: started.errors }, 'event could not start a trial');
    }

    const open = result.trials.filter((trial) => !(trial.segment && FINAL_SEGMENTS.has(trial.segment as SegmentKey)));
    if (open.length === 0) return;
    const settings = await loadSettings(em, appId);
    const ahaRules = rulesFrom(settings.ahaEvents, settings.ahaRules);
    const conversionEvents = new Set(settings.conversionEvents);
    const byUser = new Map(open.map((trial) => [trial.userId, trial]));
    const notices = new Map<string, ActivityNotice>();
    const attributed = [
      ...result.events.map(({ event }) => ({ userId: event.userId, name: event.event, type: event.type, properties: event.properties, at: event.timestamp })),
      ...result.stitched.map((row) => ({ userId: row.userId, name: row.event, type: row.type, properties: row.properties, at: new Date() })),
    ];
    for (const { userId, name, type, properties, at } of attributed) {
      const trial = userId ? byUser.get(userId) : undefined;
      if (!trial || type === 'delete') continue;
      const aha = trial.ahaReachedAt === null && (await this.#reachesAha(appId, trial.userId, ahaRules, name, properties));
      const conversion = name !== null && conversionEvents.has(name);
      if (!aha && !conversion && !QUIET_SEGMENTS.has(trial.segment ?? '')) continue;
      const notice = notices.get(trial.workflowId) ?? { at: at.toISOString() };
      if (at.toISOString() > notice.at) notice.at = at.toISOString();
      notice.aha ||= aha;
      notice.conversion ||= conversion;
      notices.set(trial.workflowId, notice);
    }
    await Promise.all(
      [...notices].map(async ([workflowId, notice]) => {
        if (notice.aha) await em.nativeUpdate(Trial, { workflowId, ahaReachedAt: null }, { ahaReachedAt: new Date(notice.at) });
        await temporal.workflow
          .getHandle(workflowId)
          .signal(activitySignal, notice)
          .catch((error: Error) => {
            // The trial ended between the write and the signal: nothing left to move.
            if (error.name !== 'WorkflowNotFoundError') throw error;
          });
      }),
    );
  }
}
