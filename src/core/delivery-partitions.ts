/**
 * Webhook deliveries and their attempts in week partitions (UTC, from Monday) of the delivery's created_at, decided
 * here and made and dropped by the maintenance (delivery-partitions.ts). A week, not a month as for events:
 * DELIVERY_RETENTION is counted in days (P30D by default) and a partition goes only once all of it is past the
 * retention, so a week keeps a delivery at most 7 days longer than asked (a month would keep it up to 31); and a
 * delivery read by its id alone (a redelivery, an attempt's recording) looks in each week's index: about 7 at P30D. Pure.
 */
import { weeklyPartitions, type TimePartition } from './time-partitions.ts';

export const DELIVERY_PARTITIONS = weeklyPartitions('webhook_deliveries');
export const ATTEMPT_PARTITIONS = weeklyPartitions('delivery_attempts');

/** The attempts' partition of a week of deliveries: the same week (an attempt carries its delivery's created_at). */
export const attemptsPartitionOf = (deliveries: TimePartition): TimePartition => ATTEMPT_PARTITIONS.partitionFor(deliveries.from);
