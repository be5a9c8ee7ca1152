/**
 * The events table's time partitions, decided here and created by the maintenance (event-partitions.ts): one a
 * calendar month (UTC) of received_at, named `events_yYYYYmMM`. A month, not a week: a person's timeline and aha
 * facts read every partition's index (they have no time bound), so 7 partitions for 180 days cost less than 26; and
 * a month is fine-grained enough for a retention counted in months. Pure.
 */

export interface EventPartition {
  name: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

const NAME = /^events_y(\d{4})m(\d{2})$/;

/** The month partition holding this instant. */
export function partitionFor(at: Date): EventPartition {
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  const month = String(from.getUTCMonth() + 1).padStart(2, '0');
  return { name: `events_y${from.getUTCFullYear()}m${month}`, from, to };
}

/** A partition's range from its name; null for any other table (the default partition). */
export function parsePartition(name: string): EventPartition | null {
  const match = NAME.exec(name);
  if (!match) return null;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return null;
  return partitionFor(new Date(Date.UTC(Number(match[1]), month - 1, 1)));
}

/** The months from `from`'s through `through`'s that have no partition yet, oldest first. */
export function partitionsToCreate(existing: string[], from: Date, through: Date): EventPartition[] {
  const have = new Set(existing);
  const missing: EventPartition[] = [];
  for (let partition = partitionFor(from); partition.from <= through; partition = partitionFor(partition.to)) {
    if (!have.has(partition.name)) missing.push(partition);
  }
  return missing;
}

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
): EventPartition[] {
  if (retentionMs <= 0) return [];
  const cutoff = now.getTime() - retentionMs;
  return existing
    .map(({ name, maxId }) => ({ partition: parsePartition(name), maxId }))
    .filter(({ partition, maxId }) => partition !== null && partition.to.getTime() <= cutoff && (maxId === null || maxId <= rolledUpToId))
    .map(({ partition }) => partition!)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}
