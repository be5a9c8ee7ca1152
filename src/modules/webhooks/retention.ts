/** Delivery retention: delivered and failed deliveries older than DELIVERY_RETENTION go, with their attempts (cascade). */
import type { MikroORM } from '@mikro-orm/postgresql';
import { parseIsoDuration } from '../../core/durations.ts';

/** One batch; the number deleted (the pruneDeliveries workflow repeats until none). */
export async function pruneDeliveries(orm: MikroORM, retention: string, batch = 5000): Promise<number> {
  const cutoff = new Date(Date.now() - (parseIsoDuration(retention) ?? 0));
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<Array<{ id: string }>>(
      `delete from webhook_deliveries where id in (
       select id from webhook_deliveries where created_at < ? and status <> 'pending' limit ?
     ) returning id`,
      [cutoff, batch],
    );
  return rows.length;
}
