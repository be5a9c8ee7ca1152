// "Trial moved to a segment": an instant trigger. Turning the Zap on subscribes its target URL
// as a Trialcast endpoint of format `zapier` (the flat payload, retried like any webhook);
// turning it off unsubscribes it (and Trialcast deletes the hook itself if Zapier answers 410).
const { SEGMENTS } = require('../segments');

const EVENT = 'trial.segment_entered';

const subscribe = async (z, bundle) => {
  const response = await z.request({
    url: `${bundle.authData.base_url}/zapier/hooks`,
    method: 'POST',
    body: { target_url: bundle.targetUrl, event: EVENT, ...(bundle.inputData.segment ? { segment: bundle.inputData.segment } : {}) },
  });
  return response.data;
};

const unsubscribe = async (z, bundle) => {
  const response = await z.request({ url: `${bundle.authData.base_url}/zapier/hooks/${encodeURIComponent(bundle.subscribeData.id)}`, method: 'DELETE' });
  return response.data;
};

// The move as Trialcast sent it: one record a request.
const perform = async (z, bundle) => [bundle.cleanedRequest];

// While the user builds the Zap: the app's latest real moves into that segment, else a made-up one.
const performList = async (z, bundle) => {
  const response = await z.request({ url: `${bundle.authData.base_url}/zapier/samples`, params: { event: EVENT } });
  const moves = response.data;
  const wanted = bundle.inputData.segment;
  return wanted ? moves.filter((move) => move.segment === wanted) : moves;
};

module.exports = {
  key: 'trial_moved',
  noun: 'Trial',
  display: {
    label: 'Trial Moved to a Segment',
    description: 'Triggers the moment a trial enters a lifecycle segment (found value, gone quiet, last chance, converted, …).',
  },
  operation: {
    type: 'hook',
    inputFields: [
      {
        key: 'segment',
        label: 'Segment',
        required: false,
        choices: SEGMENTS,
        helpText: 'Only moves into this segment; empty: every move.',
      },
    ],
    performSubscribe: subscribe,
    performUnsubscribe: unsubscribe,
    perform,
    performList,
    sample: {
      id: 'evt_sample',
      event: EVENT,
      app_id: 'app_sample',
      user_id: 'usr_8a3f4b',
      email: 'alex@example.com',
      trial_start: '2025-02-14T00:00:00.000Z',
      trial_end: '2025-02-28T00:00:00.000Z',
      old_segment: 'exploring',
      new_segment: 'found_value',
      segment: 'found_value',
      reason: 'aha_event_received',
      sequence: 2,
      occurred_at: '2025-02-16T14:32:00.000Z',
    },
    outputFields: [
      { key: 'user_id', label: 'User ID' },
      { key: 'account_id', label: 'Account ID' },
      { key: 'email', label: 'Email' },
      { key: 'old_segment', label: 'From segment' },
      { key: 'new_segment', label: 'To segment' },
      { key: 'reason', label: 'Reason' },
      { key: 'trial_end', label: 'Trial end', type: 'datetime' },
      { key: 'occurred_at', label: 'Moved at', type: 'datetime' },
    ],
  },
};
