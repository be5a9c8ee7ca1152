import { Context } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { attemptDelivery, markDeliveryExhausted } from '../modules/webhooks/attempts.ts';
import type { ChangeFacts } from '../modules/webhooks/catalog.ts';
import { DeliveryHandover, sendFirstAttempts } from '../modules/webhooks/first-attempts.ts';
import { dispatchable, dispatchDeliveries } from '../modules/webhooks/lanes.ts';
import { loadChangeSubject, planChangeDeliveries } from '../modules/webhooks/planning.ts';
import { maintainDeliveries } from '../modules/webhooks/delivery-partitions.ts';
import { maintainEvents } from '../modules/ingest/event-partitions.ts';
import { WebhookDelivery } from '../modules/webhooks/webhook-delivery.entity.ts';
import { SegmentChange } from '../modules/trials/segment-change.entity.ts';
import { Trial } from '../modules/trials/trial.entity.ts';
import { storedEventsReachAha } from '../modules/trials/aha-facts.ts';
import { accountAhaFromStoredEvents } from '../modules/accounts/account-aha.ts';
import { recordChangeOnce } from '../modules/trials/segment-change-recording.ts';
import { recordTrialOutcome } from '../modules/insights/trial-outcomes.ts';
import { FINAL_SEGMENTS, type SegmentKey } from '../core/segments.ts';
import { signalSettingsPage } from '../modules/trials/settings.service.ts';
import type { SettingsRolloutInput } from '../core/trial-lifecycle.messages.ts';
import type { SecretBox } from '../secret-box.ts';
import type { WorkerMetrics } from '../infra/metrics.ts';
import type { DeliveryObserver } from '../modules/webhooks/delivery-deps.ts';

/** A transition as the workflow decided it (times are ISO-8601). */
export interface SegmentChangeRecord extends ChangeFacts {
  /** The workflow runs sendFirstAttempts after recording (absent in older histories: hand over to lanes here). */
  firstAttemptsByWorkflow?: boolean;
  /** When ingest sent the notice this move answers (ISO-8601): the event → transition lag. */
  noticeSentAt?: string;
}

/** The change stored under a trial's sequence number. */
export interface RecordedChange {
  id: string;
  newSegment: string;
}

export interface ActivityDependencies {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  webhookAllowPrivateTargets: boolean;
  /** ISO-8601 retention of finished deliveries. */
  deliveryRetention: string;
  /** ISO-8601 retention of events (P0D: forever). */
  eventRetention: string;
  /** Opens destinations' sealed credentials. */
  secrets: SecretBox;
  /** The console's public address, for links in Slack messages. */
  publicUrl: string | null;
  /** Counts transitions and webhook attempts (the worker's /metrics); none in tests that do not count. */
  metrics?: WorkerMetrics;
}

/** The delivery pipeline's attempts, as the worker's metrics count them. */
function attemptObserver(metrics: WorkerMetrics): DeliveryObserver {
  return {
    attempted({ outcome, durationMs, sincePlannedMs, first, delivered }) {
      metrics.attempts.inc({ outcome });
      metrics.attemptDuration.observe(durationMs / 1000);
      if (first) metrics.firstAttemptLag.observe(Math.max(0, sincePlannedMs) / 1000);
      if (delivered) metrics.deliveredAfter.observe(Math.max(0, sincePlannedMs) / 1000);
    },
    finished(status, count = 1) {
      metrics.deliveriesFinished.inc({ status }, count);
    },
  };
}

/** Activities get their dependencies from the worker; each call works in its own EntityManager fork. */
export function createActivities({
  orm,
  temporal,
  taskQueue,
  webhookAllowPrivateTargets,
  deliveryRetention,
  eventRetention,
  secrets,
  publicUrl,
  metrics,
}: ActivityDependencies) {
  const deliveryDeps = {
    orm,
    temporal,
    taskQueue,
    allowPrivate: webhookAllowPrivateTargets,
    secrets,
    publicUrl,
    ...(metrics ? { observer: attemptObserver(metrics) } : {}),
  };
  const handover = new DeliveryHandover();
  return {
    /**
     * Records a transition once: a retry or replay with the same (trial, sequence) is a no-op.
     * The trial row, the notification and the planned webhook deliveries commit in the same
     * transaction as the change. Returns the change recorded under that sequence number, which
     * is not this one when a workflow task that never completed (its worker killed) recorded
     * and published a different decision first: the workflow then adopts that one.
     */
    async recordSegmentChange(change: SegmentChangeRecord): Promise<RecordedChange> {
      const em = orm.em.fork();
      const subject = await loadChangeSubject(em, change.trialId);
      const planned = planChangeDeliveries(change, subject);
      const { inserted, toAttempt } = await recordChangeOnce(em, change, planned);
      if (change.firstAttemptsByWorkflow) handover.hand(change.id, toAttempt);
      if (inserted) metrics?.transitions.inc({ from: change.oldSegment ?? 'none', to: change.newSegment, reason: change.reason });
      const heldOut = planned.filter((delivery) => delivery.status === 'held_out').length;
      if (inserted && heldOut) metrics?.deliveriesFinished.inc({ status: 'held_out' }, heldOut);
      if (inserted && change.noticeSentAt) metrics?.eventToTransition.observe(Math.max(0, Date.now() - Date.parse(change.noticeSentAt)) / 1000);
      const recorded = inserted
        ? change
        : await em.fork().findOneOrFail(SegmentChange, { trial: change.trialId, sequence: change.sequence }, { fields: ['id', 'newSegment'] });
      // An outcome: the trial's row for conversion drivers (again on a retry: it is an upsert).
      if (FINAL_SEGMENTS.has(recorded.newSegment as SegmentKey)) await recordTrialOutcome(em, change.trialId);
      // Histories from before first attempts ran in the workflow hand every delivery to its
      // lane here (again on a retry, if an earlier try died before doing so).
      if (!change.firstAttemptsByWorkflow) {
        const stored = await em.fork().find(WebhookDelivery, { segmentChangeId: recorded.id }, { populate: ['endpoint'] });
        await dispatchDeliveries(temporal, taskQueue, stored.map(dispatchable));
      }
      return { id: recorded.id, newSegment: recorded.newSegment };
    },

    /** The change's webhooks, first attempts straight away; what must be retried goes to its lane. */
    async sendFirstAttempts(changeId: string): Promise<void> {
      await sendFirstAttempts(deliveryDeps, changeId, handover);
    },

    /**
     * One attempt, recorded; plain data back to the workflow. It heartbeats while the
     * receiver thinks, so a worker killed mid-attempt is noticed in seconds (the workflow's
     * heartbeat timeout) and the attempt is made again, with the same webhook-id.
     */
    async attemptWebhookDelivery(deliveryId: string, slotHeld = false) {
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 1000);
      try {
        const { outcome, retryAfterMs, retrySchedule, attemptCount, sendAt } = await attemptDelivery(deliveryDeps, deliveryId, slotHeld);
        return { outcome, retryAfterMs, retrySchedule, attemptCount, sendAt };
      } finally {
        clearInterval(beat);
      }
    },

    async markWebhookDeliveryExhausted(deliveryId: string): Promise<void> {
      await markDeliveryExhausted(deliveryDeps, deliveryId);
    },

    /** Events' month partitions ahead, the daily rollup, and retention (whole partitions dropped). */
    async maintainEvents(): Promise<{ created: string[]; rolledUp: number; dropped: string[] }> {
      return maintainEvents(orm, eventRetention);
    },

    /** The deliveries' maintenance: weeks made ahead, weeks past the retention dropped; the number of deliveries dropped. */
    async pruneDeliveries(): Promise<number> {
      return maintainDeliveries(orm, deliveryRetention);
    },

    /**
     * Whether the trial's aha moment already happened (stored events, or a signal that was
     * marked); for an account, whether enough of its members reached theirs.
     */
    async ahaReachedBefore(trialId: string): Promise<boolean> {
      const em = orm.em.fork();
      const trial = await em.findOneOrFail(Trial, { id: trialId }, { fields: ['app', 'userId', 'accountId', 'ahaReachedAt'] });
      if (trial.ahaReachedAt !== null) return true;
      const reached =
        trial.accountId != null
          ? await accountAhaFromStoredEvents(em, trial.app.id, trial.accountId)
          : await storedEventsReachAha(em, trial.app.id, trial.userId!);
      if (!reached) return false;
      // Recorded like an aha that arrived live, so what reads the trials table (a settings preview) knows it too.
      await em.nativeUpdate(Trial, { id: trialId, ahaReachedAt: null }, { ahaReachedAt: new Date() });
      return true;
    },

    /**
     * The activity record's latest event time (ISO-8601), or null when none was stored. Read when a
     * threshold's timer fires: `dueAt` (epoch ms) is when it was due, so the worker's timer lateness is measured here.
     */
    async lastActivityAt(trialId: string, dueAt?: number): Promise<string | null> {
      if (dueAt !== undefined) metrics?.timerLateness.observe(Math.max(0, Date.now() - dueAt) / 1000);
      const trial = await orm.em.fork().findOne(Trial, { id: trialId }, { fields: ['lastActivityAt'] });
      return trial?.lastActivityAt?.toISOString() ?? null;
    },

    /** One page of a settings rollout (workflows/settings-rollout.ts). */
    async signalSettingsPage(page: Omit<SettingsRolloutInput, 'signalled'>) {
      return signalSettingsPage({ em: orm.em.fork(), temporal }, page);
    },

    async saveTrialEnd({ trialId, trialEnd }: { trialId: string; trialEnd: string }): Promise<void> {
      await orm.em.fork().nativeUpdate(Trial, { id: trialId }, { trialEnd: new Date(trialEnd) });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
