/**
 * Tables kept in time partitions (PostgreSQL range partitions of one timestamp column): how a partition is named and
 * bounded, which are missing ahead of need, and which a retention lets go. Months for events (event-partitions.ts),
 * weeks for webhook deliveries (delivery-partitions.ts). All in UTC. Pure.
 */

export interface TimePartition {
  name: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

export interface PartitionScheme {
  /** The partition holding this instant. */
  partitionFor(at: Date): TimePartition;
  /** A partition's range from its name; null for any other table (the default partition). */
  parse(name: string): TimePartition | null;
}

const pad = (value: number) => String(value).padStart(2, '0');
const DAY_MS = 86_400_000;

/** One partition a calendar month, named `<table>_yYYYYmMM`. */
export function monthlyPartitions(table: string): PartitionScheme {
  const pattern = new RegExp(`^${table}_y(\\d{4})m(\\d{2})$`);
  const partitionFor = (at: Date): TimePartition => {
    const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
    const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
    return { name: `${table}_y${from.getUTCFullYear()}m${pad(from.getUTCMonth() + 1)}`, from, to };
  };
  return {
    partitionFor,
    parse(name) {
      const match = pattern.exec(name);
      if (!match) return null;
      const month = Number(match[2]);
      if (month < 1 || month > 12) return null;
      return partitionFor(new Date(Date.UTC(Number(match[1]), month - 1, 1)));
    },
  };
}

/** One partition a week from Monday 00:00, named `<table>_wYYYYMMDD` after its Monday. */
export function weeklyPartitions(table: string): PartitionScheme {
  const pattern = new RegExp(`^${table}_w(\\d{4})(\\d{2})(\\d{2})$`);
  const partitionFor = (at: Date): TimePartition => {
    const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
    // getUTCDay: Sunday is 0; days since Monday.
    const from = new Date(day - ((at.getUTCDay() + 6) % 7) * DAY_MS);
    const to = new Date(from.getTime() + 7 * DAY_MS);
    return { name: `${table}_w${from.getUTCFullYear()}${pad(from.getUTCMonth() + 1)}${pad(from.getUTCDate())}`, from, to };
  };
  return {
    partitionFor,
    parse(name) {
      const match = pattern.exec(name);
      if (!match) return null;
      const monday = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
      const partition = partitionFor(monday);
      // Only a Monday's own name (a date that rolled over, or another weekday, names no partition of ours).
      return partition.name === name ? partition : null;
    },
  };
}

/** The partitions from `from`'s through `through`'s that do not exist yet, oldest first. */
export function partitionsToCreate(scheme: PartitionScheme, existing: string[], from: Date, through: Date): TimePartition[] {
  const have = new Set(existing);
  const missing: TimePartition[] = [];
  for (let partition = scheme.partitionFor(from); partition.from <= through; partition = scheme.partitionFor(partition.to)) {
    if (!have.has(partition.name)) missing.push(partition);
  }
  return missing;
}

/** The partitions wholly older than now less the retention, oldest first; none when the retention is 0 (keep forever). */
export function partitionsPastRetention(scheme: PartitionScheme, existing: string[], now: Date, retentionMs: number): TimePartition[] {
  if (retentionMs <= 0) return [];
  const cutoff = now.getTime() - retentionMs;
  return existing
    .map((name) => scheme.parse(name))
    .filter((partition): partition is TimePartition => partition !== null && partition.to.getTime() <= cutoff)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}
