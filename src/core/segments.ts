/**
 * Lifecycle segment keys, spelled as the contract spells them (GraphQL enum and webhooks).
 * Pure module: imported by workflow code too.
 */
export const SEGMENT_KEYS = [
  'exploring',
  'found_value',
  'on_track_to_convert',
  'gone_quiet',
  'needs_nudge',
  'slipping_away',
  'last_chance',
  'converted',
  'expired',
] as const;
export type SegmentKey = (typeof SEGMENT_KEYS)[number];

export const FINAL_SEGMENTS: ReadonlySet<SegmentKey> = new Set(['converted', 'expired']);

/** Whether a trial in this segment is over (null: no segment recorded yet). */
export function isFinalSegment(segment: string | null | undefined): boolean {
  return segment != null && FINAL_SEGMENTS.has(segment as SegmentKey);
}

export function isSegmentKey(value: string): value is SegmentKey {
  return (SEGMENT_KEYS as readonly string[]).includes(value);
}
