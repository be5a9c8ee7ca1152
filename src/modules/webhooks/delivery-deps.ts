import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { SecretBox } from '../../secret-box.ts';

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
}
