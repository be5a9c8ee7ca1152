// "Start a trial": from a signup in another tool (a form, a CRM, Stripe), through Trialcast's
// public GraphQL API with the connection's API key.
const START_TRIAL = `mutation StartTrial($input: StartTrialInput!) {
  startTrial(input: $input) { trial { id userId accountId email segment trialStart trialEnd } errors { field message } }
}`;

const perform = async (z, bundle) => {
  const { base_url: baseUrl } = bundle.authData;
  const me = await z.request({ url: `${baseUrl}/zapier/me` });
  const { user_id: userId, account_id: accountId, email, trial_end: trialEnd } = bundle.inputData;
  const input = { appId: me.data.app.id, ...(accountId ? { accountId } : { userId }), ...(email ? { email } : {}), ...(trialEnd ? { trialEnd } : {}) };
  const response = await z.request({ url: `${baseUrl}/graphql`, method: 'POST', body: { query: START_TRIAL, variables: { input } } });
  const { data, errors } = response.data;
  if (errors?.length) throw new z.errors.Error(errors.map((error) => error.message).join('; '), 'GraphQLError', response.status);
  const { trial, errors: refused } = data.startTrial;
  if (refused.length)
    throw new z.errors.Error(refused.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join('; '), 'InvalidInput', 400);
  return trial;
};

module.exports = {
  key: 'start_trial',
  noun: 'Trial',
  display: { label: 'Start a Trial', description: "Starts a person's (or an account's) trial in Trialcast; starting one that is running changes nothing." },
  operation: {
    inputFields: [
      { key: 'user_id', label: 'User ID', required: false, helpText: "Your product's id for the person (the userId your analytics sends)." },
      { key: 'account_id', label: 'Account ID', required: false, helpText: "For a workspace's trial instead: the account's id (Segment's groupId)." },
      { key: 'email', label: 'Email', required: false },
      { key: 'trial_end', label: 'Trial end', type: 'datetime', required: false, helpText: 'Default: 14 days from now.' },
    ],
    perform,
    sample: {
      id: 'trl_sample',
      userId: 'usr_8a3f4b',
      accountId: null,
      email: 'alex@example.com',
      segment: 'exploring',
      trialStart: '2025-02-14T00:00:00.000Z',
      trialEnd: '2025-02-28T00:00:00.000Z',
    },
  },
};
