import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../logger.ts';
import { hashSecret } from '../../ids.ts';
import { activitySignal, type ActivityNotice } from '../../core/trial-lifecycle.messages.ts';
import { App } from '../apps/app.entity.ts';
import { loadSettings, type SettingsView } from '../trials/settings.service.ts';
import { RateLimiter } from './rate-limiter.ts';
import { deleteTrial, startTrial } from '../trials/trials.service.ts';
import { FINAL_SEGMENTS, type SegmentKey } from '../../core/segments.ts';
import { Trial } from '../trials/trial.entity.ts';
import { EventWriter, type WriteResult } from './event-writer.ts';
import { matchesRule, requiredCount, rulesFrom, type AhaRule } from '../../core/aha-rules.ts';
import { eventDate, type IngestEvent } from './segment-message.ts';
import { eventsMeetRule } from '../trials/aha-facts.ts';

/** Segments in which the workflow believes the user is inactive: any activity can change them. */
const QUIET_SEGMENTS: ReadonlySet<string> = new Set<SegmentKey>(['gone_quiet', 'needs_nudge']);
const TRIAL_STARTED_EVENT = 'Trial Started';
const WRITE_KEY_CACHE_MS = 30_000;
const SETTINGS_CACHE_MS = 1_000;

export interface IngestDeps {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
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
  readonly #settings = new Map<string, { view: SettingsView; until: number }>();
  readonly #limiter = new RateLimiter();

  constructor(deps: IngestDeps) {
    this.#deps = deps;
    this.#writer = new EventWriter(deps.orm);
  }

  get orm(): MikroORM {
    return this.#deps.orm;
  }

  /** The app whose write key and server token these are, or null. */
  async appForServerToken(writeKey: string, serverToken: string): Promise<string | null> {
    const app = await this.#deps.orm.em.fork().findOne(App, { writeKeyHash: hashSecret(writeKey), serverTokenHash: hashSecret(serverToken) }, { fields: ['id'] });
    return app?.id ?? null;
  }

  /**
   * A Segment `delete` (a deletion request): the user's events and identities are erased and
   * their trial ends (cancelled, then removed with its history).
   */
  async eraseUser(appId: string, userId: string): Promise<void> {
    const em = this.#deps.orm.em.fork();
    await em.transactional(async (tx) => {
      await tx.execute('delete from events where app_id = ? and (user_id = ? or anonymous_id in (select anonymous_id from identities where app_id = ? and user_id = ?))', [appId, userId, appId, userId]);
      await tx.execute('delete from identities where app_id = ? and user_id = ?', [appId, userId]);
    });
    const result = await deleteTrial({ em, temporal: this.#deps.temporal }, appId, userId);
    if (result.errors.some((error) => error.code !== 'NOT_FOUND')) throw new Error(result.errors.map((error) => error.message).join('; '));
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

  /** Settings change rarely and every request needs them: kept for a second. */
  async #settingsOf(appId: string): Promise<SettingsView> {
    const cached = this.#settings.get(appId);
    if (cached && cached.until > Date.now()) return cached.view;
    const view = await loadSettings(this.#deps.orm.em.fork(), appId);
    if (this.#settings.size > 10_000) this.#settings.clear();
    this.#settings.set(appId, { view, until: Date.now() + SETTINGS_CACHE_MS });
    return view;
  }

  /** Null when these events may come in now; otherwise seconds to wait (the app's rate limit). */
  async admit(appId: string, events: number): Promise<number | null> {
    const { rateLimitPerSecond } = await this.#settingsOf(appId);
    return this.#limiter.take(appId, events, rateLimitPerSecond);
  }

  async ingest(appId: string, events: IngestEvent[]): Promise<{ stored: number; duplicates: number }> {
    const result = await this.#writer.write(appId, events);
    await this.#applyEffects(appId, result);
    const stored = result.events.filter((written) => written.fresh).length;
    this.#deps.logger.debug({ appId, events: events.length, stored, trials: result.trials.length }, 'events ingested');
    return { stored, duplicates: events.length - stored };
  }

  /** Whether this event completes an aha rule; counted rules count the user's stored events. */
  async #reachesAha(appId: string, userId: string, rules: AhaRule[], name: string | null, properties: Record<string, unknown>): Promise<boolean> {
    for (const rule of rules.filter((candidate) => matchesRule(candidate, name, properties))) {
      if (requiredCount(rule) === 1 || (await eventsMeetRule(this.#deps.orm.em.fork(), appId, userId, rule))) return true;
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
        trialStart: eventDate(facts.trial_start) ?? event.timestamp,
        trialEnd: eventDate(facts.trial_end),
      });
      if (started.errors.length) logger.warn({ appId, userId: event.userId, errors: started.errors }, 'event could not start a trial');
    }

    const open = result.trials.filter((trial) => !(trial.segment && FINAL_SEGMENTS.has(trial.segment as SegmentKey)));
    if (open.length === 0) return;
    const settings = await this.#settingsOf(appId);
    const allowed = (name: string | null, type: string) => type === 'identify' || settings.eventAllowList === null || (name !== null && settings.eventAllowList.includes(name));
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
      // Events outside the allow-list are stored and counted, but not used for segments.
      if (!trial || type === 'delete' || !allowed(name, type)) continue;
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
        await temporal.workflow
          .getHandle(workflowId)
          .signal(activitySignal, notice)
          .catch((error: Error) => {
            // The trial ended between the write and the signal: nothing left to move.
            if (error.name !== 'WorkflowNotFoundError') throw error;
          });
        // Marked only once the workflow has it: were the mark first and the signal then lost
        // (the process killed between them), the client's retry would find the aha already
        // marked and never signal it. A signal sent twice is harmless.
        if (notice.aha) await em.nativeUpdate(Trial, { workflowId, ahaReachedAt: null }, { ahaReachedAt: new Date(notice.at) });
      }),
    );
  }
}
