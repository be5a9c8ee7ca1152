import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';

/** What the delivery pipeline needs: the database, Temporal for lanes, and the SSRF setting. */
export interface DeliveryDeps {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  allowPrivate: boolean;
}
