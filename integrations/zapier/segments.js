// The lifecycle segments a trial can enter (Trialcast's SEGMENT_KEYS; a test keeps them equal).
exports.SEGMENTS = {
  exploring: 'Exploring',
  found_value: 'Found value',
  on_track_to_convert: 'On track to convert',
  gone_quiet: 'Gone quiet',
  needs_nudge: 'Needs a nudge',
  slipping_away: 'Slipping away',
  last_chance: 'Last chance',
  converted: 'Converted',
  expired: 'Expired',
};
