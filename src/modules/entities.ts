/** Every module's entities, handed to the ORM (infrastructure imports no module). */
import { Account, AccountMember } from './accounts/account.entity.ts';
import { ApiKey } from './apps/api-key.entity.ts';
import { App } from './apps/app.entity.ts';
import { Integrations } from './apps/integrations.entity.ts';
import { Event, EventDayCount, EventRollupWatermark, Identity } from './ingest/event.entity.ts';
import { DriverDayCount, SegmentDwellHour, SegmentMoveHour, FinishedTrialCount } from './insights/rollup.entities.ts';
import { TrialOutcome } from './insights/trial-outcome.entity.ts';
import { AppSettings } from './trials/app-settings.entity.ts';
import { SegmentChange } from './trials/segment-change.entity.ts';
import { Trial } from './trials/trial.entity.ts';
import { DeliveryAttempt, WebhookDelivery } from './webhooks/webhook-delivery.entity.ts';
import { WebhookEndpoint } from './webhooks/webhook-endpoint.entity.ts';
import { HoldoutAssignment, HoldoutExperiment } from './webhooks/holdout.entity.ts';

export const ENTITIES = [
  App,
  ApiKey,
  Integrations,
  Trial,
  Account,
  AccountMember,
  SegmentChange,
  AppSettings,
  Event,
  EventDayCount,
  EventRollupWatermark,
  Identity,
  WebhookEndpoint,
  WebhookDelivery,
  DeliveryAttempt,
  SegmentMoveHour,
  SegmentDwellHour,
  TrialOutcome,
  DriverDayCount,
  FinishedTrialCount,
  HoldoutExperiment,
  HoldoutAssignment,
];
