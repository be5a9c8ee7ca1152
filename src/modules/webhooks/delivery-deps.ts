import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { SecretBox } from '../../secret-box.ts';

import type { AttemptClass } from './http-attempt.ts';

/** What the delivery pipeline tells of each attempt it recorded (the worker's /metrics counts it). */
export interface DeliveryObserver {
  attempted(attempt: {
    outcome: AttemptClass;
    durationMs: number;
    /** From the delivery's planning (its move's recording) to this attempt's start. */
    sincePlannedMs: number;
    /** The delivery's first attempt. */
    first: boolean;
    delivered: boolean;
  }): void;
  /** Deliveries that reached a final state: delivered, failed (refused for good), exhausted (schedule ended), held out. */
  finished(status: FinishedDelivery, count?: number): void;
}

export type FinishedDelivery = 'delivered' | 'failed' | 'exhausted' | 'held_out';

/** What the delivery pipeline needs: the database, Temporal for lanes, the SSRF setting, and what destinations need. */
export interface DeliveryDeps {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  allowPrivate: boolean;
  /** Opens destinations' sealed credentials. */
  secrets: SecretBox;
  /** The console's public address (PUBLIC_URL), for links in Slack messages; null when unknown. */
  publicUrl: string | null;
  /** Told of every attempt recorded; none in tests that do not count. */
  observer?: DeliveryObserver;
}
