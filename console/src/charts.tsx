/**
 * What the insight charts share: a fill per segment that is a colour and a pattern (readable
 * without colour), its SVG definitions, and rates as percentages.
 */
import type { SegmentKey } from './gql/graphql.ts';
import { SEGMENTS } from './segments.ts';

const LOOKS: Record<SegmentKey, { color: string; pattern: 'solid' | 'stripes' | 'back-stripes' | 'dots' | 'grid' | 'cross' }> = {
  exploring: { color: '#4263eb', pattern: 'solid' },
  found_value: { color: '#2f9e44', pattern: 'stripes' },
  on_track_to_convert: { color: '#0c8599', pattern: 'dots' },
  gone_quiet: { color: '#868e96', pattern: 'back-stripes' },
  needs_nudge: { color: '#f08c00', pattern: 'grid' },
  slipping_away: { color: '#e8590c', pattern: 'cross' },
  last_chance: { color: '#c92a2a', pattern: 'stripes' },
  converted: { color: '#5f3dc4', pattern: 'dots' },
  expired: { color: '#343a40', pattern: 'back-stripes' },
};

export const segmentColor = (key: SegmentKey) => LOOKS[key].color;
export const segmentFill = (key: SegmentKey) => (LOOKS[key].pattern === 'solid' ? LOOKS[key].color : `url(#fill-${key})`);

/** The patterns, once per chart's SVG (ids are per page, so any chart may hold them). */
export function SegmentPatterns() {
  return (
    <defs>
      {SEGMENTS.map(({ key }) => {
        const { color, pattern } = LOOKS[key];
        if (pattern === 'solid') return null;
        return (
          <pattern key={key} id={`fill-${key}`} width="8" height="8" patternUnits="userSpaceOnUse">
            <rect width="8" height="8" fill={color} opacity="0.55" />
            {pattern === 'stripes' && <path d="M0,8 L8,0" stroke={color} strokeWidth="2" />}
            {pattern === 'back-stripes' && <path d="M0,0 L8,8" stroke={color} strokeWidth="2" />}
            {pattern === 'dots' && <circle cx="4" cy="4" r="1.8" fill={color} />}
            {pattern === 'grid' && <path d="M4,0 V8 M0,4 H8" stroke={color} strokeWidth="1.5" />}
            {pattern === 'cross' && <path d="M0,0 L8,8 M8,0 L0,8" stroke={color} strokeWidth="1.2" />}
          </pattern>
        );
      })}
    </defs>
  );
}

export const percent = (rate: number | null | undefined) => (rate === null || rate === undefined ? '—' : `${Math.round(rate * 1000) / 10} %`);
