/**
 * The events table's time partitions, decided here and created by the maintenance (event-partitions.ts): one a
 * calendar month (UTC) of received_at, named `events_yYYYYmMM`. A month, not a week: a person's timeline and aha
 * facts read every partition's index (they have no time bound), so 7 partitions for 180 days cost less than 26; and
 * a month is fine-grained enough for a retention counted in months. Pure.
 */
import { monthlyPartitions, partitionsPastRetention, type TimePartition } from './time-partitions.ts';

export const EVENT_PARTITIONS = monthlyPartitions('events');

/**
 * The partitions retention lets go: wholly older than the cutoff (now less the retention), and wholly rolled up
 * (every row's id at most `rolledUpToId`, the rollup's watermark), so the console's counts survive the drop.
 * `maxIds` holds each partition's highest id (null when empty). A retention of 0 keeps everything.
 */
export function partitionsToDrop(
  existing: Array<{ name: string; maxId: bigint | null }>,
  now: Date,
  retentionMs: number,
  rolledUpToId: bigint,
): TimePartition[] {
  const maxIds = new Map(existing.map(({ name, maxId }) => [name, maxId]));
  return partitionsPastRetention(EVENT_PARTITIONS, [...maxIds.keys()], now, retentionMs).filter((partition) => {
    const maxId = maxIds.get(partition.name);
    return maxId === null || maxId === undefined || maxId <= rolledUpToId;
  });
}
