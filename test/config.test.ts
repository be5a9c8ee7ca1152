import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { StartupError } from '../src/errors.ts';

describe('loadConfig', () => {
  it('has the contract defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: null,
      temporalAddress: null,
      temporalNamespace: 'default',
      temporalTaskQueue: 'trialcast',
      temporalUiPort: 8233,
      temporalUiUrl: null,
      adminToken: null,
      webhookAllowPrivateTargets: false,
      logLevel: 'info',
    });
    expect(config.dataDir).toMatch(/\.data$/);
  });

  it("takes a deployment's Temporal Web UI for the console's links", () => {
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example.com' }).temporalUiUrl).toBe('https://temporal.example.com');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT=eighty is not a whole number/],
    [{ PORT: '70000' }, /PORT=70000/],
    [{ DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL has scheme mysql:/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL is not a URL/],
    [{ TEMPORAL_ADDRESS: 'http://x' }, /TEMPORAL_ADDRESS=http:\/\/x is not host:port/],
    [{ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' }, /WEBHOOK_ALLOW_PRIVATE_TARGETS=maybe is not a boolean/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL=loud/],
    [{ TEMPORAL_UI_URL: 'temporal-ui:8080' }, /TEMPORAL_UI_URL has scheme temporal-ui:/],
    [{ TEMPORAL_UI_URL: 'not a url' }, /TEMPORAL_UI_URL is not a URL/],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(StartupError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
