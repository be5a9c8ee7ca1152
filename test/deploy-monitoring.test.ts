/**
 * Monitoring as shipped in deploy/: the Prometheus alert rules and the Grafana dashboard parse,
 * have what each needs, and name only metrics that a live Trialcast exports (the API's /metrics,
 * with the worker's beside it under npm start, and the worker's own WORKER_METRICS_PORT).
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/infra/net.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const deployFile = (path: string) => readFile(new URL(`../deploy/${path}`, import.meta.url), 'utf8');
/** Series that Prometheus makes itself, not a process. */
const PROMETHEUS_OWN = new Set(['up']);

/** The metric families a /metrics text declares (# TYPE lines), histograms with their series' suffixes. */
function families(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The series names an expression reads (PromQL's functions and label names are lowercase words not followed by a metric's shape). */
const seriesIn = (expr: string) => [...expr.matchAll(/\b(trialcast_[a-z0-9_]+|up)\b(?=\s*[{\[)\s=<>!]|$)/g)].map(([, name]) => name!);

let stack: TestStack;
let workerPort: number;
let receiver: Receiver;
beforeAll(async () => {
  workerPort = await freePort();
  stack = await startTestStack({ config: { workerMetricsPort: workerPort } });
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

describe('deploy/ monitoring', () => {
  it("the worker's own /metrics counts transitions and attempts, and npm start's /metrics carries them beside the API's", async () => {
    const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'monitored' })).data!.createApp;
    await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: receiver.url } });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'watched', trialEnd: '2099-01-01T00:00:00Z' } });
    await receiver.waitFor(1);
    const worker = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text();
      return /^trialcast_webhook_attempts_total\{outcome="2xx"\} [1-9]/m.test(text) ? text : undefined;
    });
    expect(worker).toMatch(/^trialcast_transitions_total\{from="none",to="exploring",reason="trial_started"\} [1-9]/m);
    expect(worker).toMatch(/^trialcast_webhook_first_attempt_lag_seconds_count [1-9]/m);
    expect(worker).toMatch(/^trialcast_webhook_delivered_after_seconds_count [1-9]/m);
    expect(worker).toMatch(/^trialcast_webhook_deliveries_finished_total\{status="delivered"\} [1-9]/m);
    // An aha through ingest (event → move lag), and a trial ending in 3 s (its timer's lateness).
    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, ahaEvents: ['Clicked'] },
    });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'ending', trialEnd: new Date(Date.now() + 3000).toISOString() } });
    // A trial started after the change has the new aha event from its start; an older one learns it from the
    // rollout, which can arrive after the event (its move is then settings_changed, with no event lag).
    // Its event is sent once it is exploring: sent before, it counts at the start (a move at trial_started).
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'clicking', trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(async () => ((await stack.sql(`select segment from trials where user_id = 'clicking'`))[0]?.segment === 'exploring' ? true : undefined));
    // Events counted as ingest takes them: one stored, one refused as invalid.
    const basic = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
    await fetch(`${stack.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: JSON.stringify({
        batch: [
          { type: 'track', userId: 'clicking', event: 'Clicked' },
          { type: 'track', userId: 'watched' },
        ],
      }),
    });
    const lags = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text();
      return /^trialcast_event_to_transition_seconds_count [1-9]/m.test(text) && /^trialcast_timer_lateness_seconds_count [1-9]/m.test(text) ? text : undefined;
    }, 45_000);
    // Both well under a minute on an idle stack.
    expect(lags).toMatch(/^trialcast_event_to_transition_seconds_bucket\{le="60"\} [1-9]/m);
    expect(lags).toMatch(/^trialcast_timer_lateness_seconds_bucket\{le="60"\} [1-9]/m);
    const api = await (await fetch(`${stack.url}/metrics`)).text();
    expect(api).toMatch(/^trialcast_events_total\{outcome="accepted",route="\/v1\/batch"\} [1-9]/m);
    expect(api).toMatch(/^trialcast_events_total\{outcome="invalid",route="\/v1\/batch"\} [1-9]/m);
    for (const name of [
      'trialcast_webhook_attempts_total',
      'trialcast_http_requests_total',
      'trialcast_webhook_oldest_pending_delivery_seconds',
      'trialcast_event_to_transition_seconds',
      'trialcast_timer_lateness_seconds',
    ]) {
      expect(families(api).has(name), name).toBe(true);
    }
    // The pool now (this stack holds clients open; waiting is whatever this scrape met), and the rollouts running.
    expect(api).toMatch(/^trialcast_db_pool_clients\{state="total"\} [1-9]/m);
    expect(api).toMatch(/^trialcast_db_pool_clients\{state="waiting"\} \d+$/m);
    expect(api).toMatch(/^trialcast_settings_rollouts_running \d+$/m);
    expect((await fetch(`http://127.0.0.1:${workerPort}/elsewhere`)).status).toBe(404);
  }, 90_000);

  it('the alert rules parse, each with an expression, a duration, a severity and a summary, naming only exported metrics', async () => {
    const exported = families(await (await fetch(`${stack.url}/metrics`)).text());
    const rules = parse(await deployFile('prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: Array<Record<string, any>> }> };
    const all = rules.groups.flatMap((group) => group.rules);
    expect(all.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'TrialcastWebhooksBackingUp',
        'TrialcastEndpointFailing',
        'TrialcastTransitionsLagging',
        'TrialcastEventsLagging',
        'TrialcastTimersLate',
        'TrialcastWorkerDown',
      ]),
    );
    for (const rule of all) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Trialcast[A-Z][A-Za-z]+$/);
      expect(typeof rule.expr).toBe('string');
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['page', 'ticket']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      const series = seriesIn(rule.expr);
      expect(series.length, rule.alert).toBeGreaterThan(0);
      for (const name of series) expect(exported.has(name) || PROMETHEUS_OWN.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it('the Grafana dashboard is valid JSON with unique panels, each query naming only exported metrics', async () => {
    const exported = families(await (await fetch(`${stack.url}/metrics`)).text());
    const dashboard = JSON.parse(await deployFile('grafana/trialcast.json')) as {
      uid: string;
      panels: Array<{ id: number; title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('trialcast');
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        const series = seriesIn(expr);
        expect(series.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of series) expect(exported.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });
});
