// Trialcast's Zapier integration (zapier-platform-core): push it with `zapier push` from this folder.
const authentication = require('./authentication');
const trialMoved = require('./triggers/trial-moved');
const startTrial = require('./creates/start-trial');

// Every request carries the connection's API key (Trialcast's GraphQL API and its Zapier routes both take it as a bearer token).
const withApiKey = (request, z, bundle) => {
  request.headers = { ...request.headers, Authorization: `Bearer ${bundle.authData.api_key}` };
  return request;
};

module.exports = {
  version: require('./package.json').version,
  platformVersion: require('zapier-platform-core').version,
  authentication,
  beforeRequest: [withApiKey],
  // Every request goes through z.request, which Zapier logs itself: Node's http needs no patching.
  flags: { skipHttpPatch: true },
  triggers: { [trialMoved.key]: trialMoved },
  creates: { [startTrial.key]: startTrial },
};
