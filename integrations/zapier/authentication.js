// A Zap connects to one Trialcast app with that app's API key (a key from the console's
// Settings, or createApiKey); the base URL is where that Trialcast answers.
module.exports = {
  type: 'custom',
  fields: [
    { key: 'base_url', label: 'Trialcast URL', required: true, type: 'string', helpText: 'Where your Trialcast answers, e.g. https://trialcast.example.com' },
    { key: 'api_key', label: 'API key', required: true, type: 'password', helpText: "The app's API key (Settings → API keys)" },
  ],
  // Zapier's auth test: the app the key belongs to.
  test: { url: '{{bundle.authData.base_url}}/zapier/me', method: 'GET' },
  connectionLabel: '{{json.app.name}}',
};
