import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../logger.ts';
import { hashSecret } from '../../ids.ts';
import { TtlCache } from '../../infra/ttl-cache.ts';
import { activitySignal } from '../../core/trial-lifecycle.messages.ts';
import { unlessWorkflowEnded } from '../../infra/temporal-errors.ts';
import { withCallDeadline } from '../../infra/temporal-deadline.ts';
import { App } from '../apps/app.entity.ts';
import { loadSettings, type SettingsView } from '../trials/settings.service.ts';
import { RateLimiter } from './rate-limiter.ts';
import type { Trials } from '../trials/trials.service.ts';
import { EventWriter, trialsOfSubjects, type WriteResult } from './event-writer.ts';
import { requiredCount } from '../../core/aha-rules.ts';
import { MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES, type IngestEvent, type MessageCheck } from './segment-message.ts';
import { candidatesOf, noticesOf, trialStartOf, unseenTrialSubjects, type AttributedEvent, type Candidate, type EffectSettings } from './effects.ts';
import { eventsMeetRule } from '../trials/aha-facts.ts';
import { markMemberAha } from '../accounts/account-aha.ts';
import { eraseMemberFromDeliveries } from '../webhooks/erasure.ts';
import { accountReachedAha } from '../../core/account-rules.ts';

const WRITE_KEY_CACHE_MS = 30_000;
const SETTINGS_CACHE_MS = 1_000;

export interface Rejection {
  index: number;
  error: string;
}

export type AcceptResult =
  | { kind: 'done'; accepted: number; rejected: Rejection[] }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'too_many'; count: number; limit: number };

export interface IngestDeps {
  orm: MikroORM;
  /** To signal trial workflows. */
  temporal: Client;
  trials: Trials;
  logger: Logger;
  /** Told how many events each call accepted or refused, and why (the API's /metrics counts them). */
  countEvents?: (outcome: EventOutcome, count: number, route: string) => void;
}

/** Why events were refused: over the batch limit, over the app's rate limit, or each invalid on its own. */
export type EventOutcome = 'accepted' | 'invalid' | 'rate_limited' | 'too_many';

/**
 * Accepts events for an app: durable (committed) first, then the effects that matter for
 * segments: trials started from identify traits or `Trial Started`, and one signal per
 * trial only when an event can change its segment (aha, conversion, activity while quiet).
 * Effects are idempotent, so a client retrying after an error redoes them safely.
 */
export class IngestService {
  readonly #deps: IngestDeps;
  readonly #writer: EventWriter;
  // Asked on every request, changed rarely.
  readonly #writeKeys = new TtlCache<string, string | null>(WRITE_KEY_CACHE_MS);
  readonly #settings = new TtlCache<string, SettingsView>(SETTINGS_CACHE_MS);
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
    const app = await this.#deps.orm.em
      .fork()
      .findOne(App, { writeKeyHash: hashSecret(writeKey), serverTokenHash: hashSecret(serverToken) }, { fields: ['id'] });
    return app?.id ?? null;
  }

  /**
   * A Segment `delete` (a deletion request): the user's events, identities and memberships are
   * erased, their entry leaves the member lists of account webhooks already stored, and their
   * trial ends (cancelled, then removed with its history).
   */
  async eraseUser(appId: string, userId: string): Promise<void> {
    const em = this.#deps.orm.em.fork();
    await em.transactional(async (tx) => {
      await tx.execute(
        'delete from events where app_id = ? and (user_id = ? or anonymous_id in (select anonymous_id from identities where app_id = ? and user_id = ?))',
        [appId, userId, appId, userId],
      );
      await tx.execute('delete from identities where app_id = ? and user_id = ?', [appId, userId]);
      await tx.execute('delete from account_members where app_id = ? and user_id = ?', [appId, userId]);
    });
    this.#writer.forgetMemberships();
    await eraseMemberFromDeliveries(em, appId, userId);
    const result = await this.#deps.trials.remove(em, appId, { kind: 'user', userId });
    if (result.errors.some((error) => error.code !== 'NOT_FOUND')) throw new Error(result.errors.map((error) => error.message).join('; '));
  }

  /** The app a write key belongs to, or null. Cached briefly: it is asked on every request. */
  async appForWriteKey(writeKey: string): Promise<string | null> {
    const hash = hashSecret(writeKey);
    const cached = this.#writeKeys.get(hash);
    if (cached !== undefined) return cached;
    const app = await this.#deps.orm.em.fork().findOne(App, { writeKeyHash: hash }, { fields: ['id'] });
    return this.#writeKeys.set(hash, app?.id ?? null);
  }

  /** Settings saved in this process limit the next request at once (what events mean is checked on every write anyway). */
  forgetSettings(appId: string): void {
    this.#settings.delete(appId);
  }

  /**
   * Settings change rarely and every request needs them: kept for a second, which bounds how
   * late another process's save reaches the rate limit and allowed origins here.
   */
  async #settingsOf(appId: string): Promise<SettingsView> {
    return this.#settings.get(appId) ?? this.#settings.set(appId, await loadSettings(this.#deps.orm.em.fork(), appId));
  }

  /**
   * The settings that decide what written events mean: exactly those saved before the write,
   * in whichever process. The write returned the stored revision; a cached copy that differs
   * (or missing) is read once, so a new aha rule applies to the very next event everywhere.
   */
  async #settingsAsOfWrite(appId: string, revision: string | null): Promise<SettingsView> {
    const cached = this.#settings.get(appId);
    if (cached && cached.revision === revision) return cached;
    return this.#settings.set(appId, await loadSettings(this.#deps.orm.em.fork(), appId));
  }

  /** Whether a browser page on this origin may send the app's events (the app's allowedOrigins, if any). */
  async originAllowed(appId: string, origin: string): Promise<boolean> {
    const { allowedOrigins } = await this.#settingsOf(appId);
    return allowedOrigins === null || allowedOrigins.includes(origin.toLowerCase());
  }

  /**
   * The ingest use case: each message checked and the good ones stored durably (committed)
   * before this returns, bad ones named by index (one bad message never costs the good ones),
   * then their effects applied. Nothing is stored when the app is over its rate limit.
   */
  async accept(appId: string, messages: unknown[], check: MessageCheck, route: string): Promise<AcceptResult> {
    const count = (outcome: EventOutcome, n: number) => {
      if (n > 0) this.#deps.countEvents?.(outcome, n, route);
    };
    if (messages.length > MAX_BATCH_MESSAGES) {
      count('too_many', messages.length);
      return { kind: 'too_many', count: messages.length, limit: MAX_BATCH_MESSAGES };
    }
    const { rateLimitPerSecond } = await this.#settingsOf(appId);
    const wait = this.#limiter.take(appId, messages.length, rateLimitPerSecond);
    if (wait !== null) {
      count('rate_limited', messages.length);
      return { kind: 'rate_limited', retryAfterSeconds: wait };
    }
    const accepted: IngestEvent[] = [];
    const rejected: Rejection[] = [];
    messages.forEach((message, index) => {
      if (JSON.stringify(message).length > MAX_MESSAGE_BYTES) return rejected.push({ index, error: `message is over ${MAX_MESSAGE_BYTES} bytes` });
      const checked = check(message);
      if (checked.ok) accepted.push(checked.event);
      else rejected.push({ index, error: checked.error });
    });
    if (accepted.length) {
      const result = await this.#writer.write(appId, accepted);
      await this.#applyEffects(appId, result);
      const stored = result.events.filter((written) => written.fresh).length;
      this.#deps.logger.debug({ appId, events: accepted.length, stored, trials: result.trials.length }, 'events ingested');
    }
    // Counted once stored: an acknowledged event is a durable one.
    count('accepted', accepted.length);
    count('invalid', rejected.length);
    return { kind: 'done', accepted: accepted.length, rejected };
  }

  /** Trials started by the events, then one signal per trial workflow whose segment they can change. */
  async #applyEffects(appId: string, result: WriteResult): Promise<void> {
    const { orm, temporal, trials, logger } = this.#deps;
    // Most writes have no effect at all: the entity manager is forked only for one that has.
    let forked: EntityManager | undefined;
    const em = () => (forked ??= orm.em.fork());
    for (const { event } of result.events) {
      const start = trialStartOf(event);
      if (!start) continue;
      const started = await trials.start(em(), { appId, ...start });
      if (started.errors.length) logger.warn({ appId, errors: started.errors }, 'event could not start a trial');
    }
    const attributed: AttributedEvent[] = [
      ...result.events.map(({ event }) => ({
        userId: event.userId,
        groupId: event.groupId,
        name: event.event,
        type: event.type,
        properties: event.properties,
        at: event.timestamp,
      })),
      ...result.stitched.map((row) => ({
        userId: row.userId,
        groupId: row.groupId,
        name: row.event,
        type: row.type,
        properties: row.properties,
        at: new Date(),
      })),
    ];
    if (!attributed.some((event) => event.userId !== null)) return;
    const settings = await this.#settingsAsOfWrite(appId, result.settingsRevision);
    const { trials: seen, memberships } = await this.#withTrialsStartedMeanwhile(em, appId, attributed, result, settings);
    const decided = [];
    for (const candidate of candidatesOf(attributed, seen, memberships, settings)) {
      decided.push({ ...candidate, aha: await this.#completesAha(appId, candidate, settings.accountAhaMembers) });
    }
    // The trial's aha is marked by the move it brings (the roll-up trigger), so only once the workflow has it: until
    // then another aha event tells it again, which is harmless.
    await Promise.all(
      [...noticesOf(decided)].map(([workflowId, notice]) =>
        // Bounded: with Temporal away the request fails (503) in seconds, and the client's retry signals again.
        withCallDeadline(temporal, () => temporal.workflow.getHandle(workflowId).signal(activitySignal, { ...notice, sentAt: new Date().toISOString() }))
          // The trial may have ended between the write and the signal: nothing left to move.
          .catch(unlessWorkflowEnded),
      ),
    );
  }

  /** The trials the write saw, and those of its aha events' people that it could not see: started by a request in flight beside it. */
  async #withTrialsStartedMeanwhile(em: () => EntityManager, appId: string, attributed: AttributedEvent[], result: WriteResult, settings: EffectSettings) {
    const unseen = unseenTrialSubjects(attributed, result, settings);
    if (unseen.length === 0) return { trials: result.trials, memberships: result.memberships };
    const found = await trialsOfSubjects(em(), appId, unseen);
    const known = new Set(result.trials.map((trial) => trial.id));
    return {
      trials: [...result.trials, ...found.trials.filter((trial) => !known.has(trial.id))],
      memberships: [...result.memberships, ...found.memberships],
    };
  }

  /**
   * Whether the event brings its trial's aha: it completes one of its aha rules (counted rules
   * count the user's stored events); for an account, it is a member's aha (recorded) and enough
   * members have now reached theirs.
   */
  async #completesAha(appId: string, { trial, userId, at, ahaRules }: Candidate, accountAhaMembers: number): Promise<boolean> {
    const em = this.#deps.orm.em.fork();
    let met = false;
    for (const rule of ahaRules) {
      if (requiredCount(rule) === 1 || (await eventsMeetRule(em, appId, userId, rule, trial.accountId))) {
        met = true;
        break;
      }
    }
    if (!met || trial.accountId === null) return met;
    const members = await markMemberAha(em, appId, trial.accountId, userId, at);
    return trial.ahaReachedAt === null && accountReachedAha(members, accountAhaMembers);
  }
}
