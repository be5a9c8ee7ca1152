/** The nine lifecycle segments in board order, as people say them. */
import type { SegmentKey } from './gql/graphql.ts';

export const SEGMENTS: ReadonlyArray<{ key: SegmentKey; label: string }> = [
  { key: 'exploring', label: 'Exploring' },
  { key: 'found_value', label: 'Found value' },
  { key: 'on_track_to_convert', label: 'On track to convert' },
  { key: 'gone_quiet', label: 'Gone quiet' },
  { key: 'needs_nudge', label: 'Needs a nudge' },
  { key: 'slipping_away', label: 'Slipping away' },
  { key: 'last_chance', label: 'Last chance' },
  { key: 'converted', label: 'Converted' },
  { key: 'expired', label: 'Expired' },
];

/** A segment's label; a trial's first move is from "Start". */
export const segmentLabel = (key: string | null | undefined): string => SEGMENTS.find((segment) => segment.key === key)?.label ?? 'Start';
