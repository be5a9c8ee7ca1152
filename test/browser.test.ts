/**
 * What an operator sees in a browser (Chromium through playwright-core): GraphiQL on /graphql
 * and the Temporal Web UI of `npm start`'s embedded dev server. The browser may reach
 * loopback only, as on a machine without internet: both pages must carry everything they need.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { Analytics } from '@segment/analytics-node';
import { Webhook } from 'standardwebhooks';
import { Receiver } from './support/receiver.ts';
import { freePort } from '../src/infra/net.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { seedTrial } from './support/seed.ts';

const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// .ci/run installs Chromium and requires these tests; elsewhere they run when it is there.
const required = process.env.TRIALCAST_BROWSER_TESTS === 'required';
const available = existsSync(CHROMIUM);
if (!available && !required) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

/** A browser context that can reach loopback only; what it tried to fetch elsewhere is listed. */
async function offlineContext(browser: Browser): Promise<{ context: BrowserContext; outside: string[] }> {
  const context = await browser.newContext();
  const outside: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') return route.continue();
    outside.push(url.href);
    return route.abort('internetdisconnected');
  });
  return { context, outside };
}

/** The text of GraphiQL's response pane once it contains `expected`. */
async function responseContaining(page: Page, expected: string): Promise<string> {
  const pane = page.locator('.graphiql-response');
  // Monaco shows spaces as no-break spaces.
  const text = async () => (await pane.innerText()).replaceAll('\u00a0', ' ');
  await expect.poll(text, { timeout: 15_000 }).toContain(expected);
  return text();
}

describe.skipIf(!available && !required)('in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!available) throw new Error(`no Chromium at ${CHROMIUM}: browser tests are required here (TRIALCAST_BROWSER_TESTS=required)`);
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  afterAll(async () => browser?.close());

  describe('GraphiQL', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack();
    });
    afterAll(async () => stack?.stop());

    it('loads without internet and runs a query and a live subscription with the token of its Headers tab', { timeout: 60_000 }, async () => {
      const created = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Browser App' })).data!.createApp;
      const { context, outside } = await offlineContext(browser);
      // What GraphiQL keeps from its Headers tab.
      await context.addInitScript((token) => localStorage.setItem('graphiql:headers', JSON.stringify({ Authorization: `Bearer ${token}` })), created.apiKey);
      const page = await context.newPage();
      const failures: string[] = [];
      page.on('response', (response) => {
        if (response.status() >= 400) failures.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
      });

      // The default query lists the apps the token sees; its schema (introspection) loads too.
      const introspected = page.waitForResponse((response) => response.request().postData()?.includes('IntrospectionQuery') === true);
      await page.goto(`${stack.url}/graphql`);
      expect((await introspected).status()).toBe(200);
      await page.click('.graphiql-execute-button');
      expect(await responseContaining(page, created.app.id)).toContain('Browser App');

      const subscription = `subscription { segmentChanged(appId: "${created.app.id}") { sequence newSegment trial { userId } } }`;
      await page.goto(`${stack.url}/graphql?query=${encodeURIComponent(subscription)}`);
      const subscribed = page
        .waitForEvent('websocket')
        .then((socket) => socket.waitForEvent('framesent', (frame) => String(frame.payload).includes('"subscribe"')));
      await page.click('.graphiql-execute-button');
      await subscribed;
      // The server has the subscription once the subscribe frame has crossed loopback and been authenticated.
      await page.waitForTimeout(300);
      await stack.gql(START_TRIAL, { input: { appId: created.app.id, userId: 'browser-user', trialEnd: '2099-01-01T00:00:00Z' } });
      const live = await responseContaining(page, 'browser-user');
      expect(live).toContain('exploring');

      expect(outside).toEqual([]);
      expect(failures).toEqual([]);
      await context.close();
    });
  });

  describe('Temporal Web UI of the embedded dev server', () => {
    let stack: TestStack;
    let uiUrl: string;
    beforeAll(async () => {
      // As npm start runs it: no TEMPORAL_ADDRESS, so a dev server with its Web UI.
      const [temporalDevPort, temporalUiPort] = [await freePort(), await freePort()];
      stack = await startTestStack({ config: { temporalAddress: null, temporalDevPort, temporalUiPort } });
      uiUrl = `http://127.0.0.1:${temporalUiPort}`;
    });
    afterAll(async () => stack?.stop());

    it('lists each trial as a workflow, filtered by the app and segment search attributes', { timeout: 60_000 }, async () => {
      const created = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'UI App' })).data!.createApp;
      for (const userId of ['ui-one', 'ui-two']) await stack.gql(START_TRIAL, { input: { appId: created.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } });
      const { context } = await offlineContext(browser);
      const page = await context.newPage();
      // The workflow list for a search, once the page has rendered its rows (or its empty state).
      const listed = async (query: string) => {
        await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
        await page.waitForFunction(() => /trial:|No Results/.test(document.body.innerText), undefined, { timeout: 15_000 });
        const text = await page.locator('body').innerText();
        return ['ui-one', 'ui-two'].filter((userId) => text.includes(`trial:${created.app.id}:${userId}`));
      };

      // Search attributes are indexed a moment after the workflow upserts them: search again until both show.
      await expect
        .poll(() => listed(`TrialcastAppId = "${created.app.id}" AND TrialcastSegment = "exploring"`), { timeout: 30_000, interval: 500 })
        .toEqual(['ui-one', 'ui-two']);
      expect(await listed(`TrialcastAppId = "${created.app.id}" AND TrialcastSegment = "gone_quiet"`)).toEqual([]);
      expect(await page.locator('body').innerText()).toContain('No Results');
      await context.close();
    });

    it("the console's trial page links to the trial's workflow there", { timeout: 60_000 }, async () => {
      const created = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'UI link' })).data!.createApp;
      await stack.gql(START_TRIAL, { input: { appId: created.app.id, userId: 'ui-linked', trialEnd: '2099-01-01T00:00:00Z' } });
      const { context, outside } = await offlineContext(browser);
      await context.addInitScript((token) => sessionStorage.setItem('trialcast:token', token), stack.adminToken);
      const page = await context.newPage();
      await page.goto(`${stack.url}/#/apps/${created.app.id}/trials/ui-linked`);
      const link = page.getByRole('link', { name: 'Its workflow in the Temporal Web UI' });
      expect(await link.getAttribute('href')).toBe(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(`trial:${created.app.id}:ui-linked`)}`);
      await page.goto((await link.getAttribute('href'))!);
      await page.waitForFunction((id) => document.body.innerText.includes(id), `trial:${created.app.id}:ui-linked`, { timeout: 15_000 });
      expect(outside).toEqual([]);
      await context.close();
    });
  });

  describe('the analytics libraries a SaaS already runs, from its own pages (another origin)', () => {
    let stack: TestStack;
    let site: Server;
    let siteUrl: string;
    beforeAll(async () => {
      stack = await startTestStack();
      // The customer's web app: another origin (localhost, not 127.0.0.1), serving the SDK builds published on npm.
      const files: Record<string, string> = {
        '/segment.js': require.resolve('@segment/analytics-next/dist/umd/index.js'),
        '/rudderstack.js': require.resolve('@rudderstack/analytics-js').replace(/dist\/npm\/.*$/, 'dist/npm/modern/bundled/umd/index.js'),
      };
      site = createServer(async (req, res) => {
        const file = files[req.url ?? ''];
        if (file) return res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(file));
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>Customer app</title><script src="/segment.js"></script><script src="/rudderstack.js"></script>');
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      site?.close();
      await stack?.stop();
    });

    it(
      "Segment's analytics-next and RudderStack's analytics-js deliver identify, page and track to a trial that reaches found_value",
      { timeout: 90_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Browser SDKs' })).data!.createApp;
        await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
          i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
        });
        const { context, outside } = await offlineContext(browser);
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(`console: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
        const sent: string[] = [];
        page.on('request', (request) => {
          if (request.url().startsWith(stack.url)) sent.push(`${request.method()} ${new URL(request.url()).pathname}`);
        });
        await page.goto(siteUrl);

        const api = stack.url;
        const trial = { trial_end: '2099-01-01T00:00:00Z' };
        // Segment, configured as its docs tell a custom host: the settings from cdnURL, events to apiHost; and its batching strategy.
        await page.evaluate(
          async ({ api, writeKey, trial }) => {
            const { AnalyticsBrowser } = (window as any).AnalyticsNext;
            const apiHost = `${new URL(api).host}/v1`;
            const [analytics] = await AnalyticsBrowser.load({ writeKey, cdnURL: api }, { integrations: { 'Segment.io': { apiHost, protocol: 'http' } } });
            await analytics.identify('segment-user', { ...trial, email: 'segment@example.com' });
            await analytics.page('Dashboard');
            await analytics.track('Report Viewed', { report: 'weekly' });
            const [batching] = await AnalyticsBrowser.load(
              { writeKey, cdnURL: api },
              { integrations: { 'Segment.io': { apiHost, protocol: 'http', deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 300 } } } } },
            );
            await Promise.all([batching.identify('segment-batch-user', trial), batching.page('Home'), batching.track('Report Viewed')]);
          },
          { api, writeKey: app.writeKey, trial },
        );
        // RudderStack v3, its data plane and its config both at this host.
        await page.evaluate(
          ({ api, writeKey, trial }) =>
            new Promise<void>((resolve) => {
              const analytics = new (window as any).rudderanalytics.RudderAnalytics();
              analytics.load(writeKey, api, { configUrl: api, logLevel: 'ERROR', onLoaded: () => resolve() });
              analytics.identify('rudderstack-user', { ...trial, email: 'rudderstack@example.com' });
              analytics.page('Dashboard');
              analytics.track('Report Viewed', { report: 'weekly' });
            }),
          { api, writeKey: app.writeKey, trial },
        );

        const segmentOf = async (userId: string) =>
          (await stack.gql(`query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { segment email } }`, { a: app.app.id, u: userId }, app.apiKey)).data
            .trial;
        for (const userId of ['segment-user', 'segment-batch-user', 'rudderstack-user']) {
          await expect.poll(async () => (await segmentOf(userId))?.segment, { timeout: 30_000, interval: 250 }).toBe('found_value');
        }
        expect((await segmentOf('rudderstack-user')).email).toBe('rudderstack@example.com');
        const types = await stack.sql(`select distinct type from events where app_id = $1 order by type`, [app.app.id]);
        expect(types.map((row) => row.type)).toEqual(['identify', 'page', 'track']);
        // What the libraries asked for: their settings, and each kind of send (Segment's short paths, its batch, RudderStack's full paths).
        for (const expected of [
          `GET /v1/projects/${app.writeKey}/settings`,
          'POST /v1/i',
          'POST /v1/p',
          'POST /v1/t',
          'POST /v1/b',
          'GET /sourceConfig/',
          'POST /v1/identify',
          'POST /v1/page',
          'POST /v1/track',
        ]) {
          expect(sent, expected).toContain(expected);
        }
        expect(outside).toEqual([]);
        expect(problems).toEqual([]);
        await context.close();
      },
    );
  });

  describe('the console', () => {
    let stack: TestStack;
    beforeAll(async () => {
      if (!existsSync(new URL('../dist/console/index.html', import.meta.url)))
        throw new Error('the console is not built: npm run build:console (npm ci runs it)');
      stack = await startTestStack();
    });
    afterAll(async () => stack?.stop());

    /** A loopback-only browser context already signed in with the admin token (kept as the sign-in page keeps it), and a page. */
    async function signedIn() {
      const { context, outside } = await offlineContext(browser);
      await context.addInitScript((token) => sessionStorage.setItem('trialcast:token', token), stack.adminToken);
      return { context, outside, page: await context.newPage() };
    }

    it(
      'signs in (a wrong token is said so), shows the empty state, creates an app whose secrets are shown once, by keyboard',
      { timeout: 60_000 },
      async () => {
        const { context, outside } = await offlineContext(browser);
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          // The wrong token's 401 is the browser's own note of an answer the page expects.
          if (message.type() === 'error' && !message.text().includes('status of 401')) problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(error.message));
        await page.goto(stack.url);
        await expect.poll(() => page.url()).toContain('#/sign-in');

        await page.getByLabel('Admin token or app API key').fill('tca_wrong');
        await page.keyboard.press('Enter');
        await expect.poll(() => page.getByRole('alert').innerText()).toContain('That token is not valid');

        await page.getByLabel('Admin token or app API key').fill(stack.adminToken);
        await page.keyboard.press('Enter');
        await expect.poll(() => page.locator('main').innerText()).toContain('No apps yet');

        // By keyboard: the name field, then Enter submits.
        await page.getByLabel("New app's name").focus();
        await page.keyboard.type('Console App');
        await page.keyboard.press('Enter');
        await expect.poll(() => page.getByRole('note').innerText()).toContain('shown once');
        const writeKey = await page.getByRole('textbox', { name: 'Write key', exact: true }).inputValue();
        const apiKey = await page.getByRole('textbox', { name: 'API key', exact: true }).inputValue();
        expect(writeKey).toMatch(/^wk_/);
        await expect.poll(() => page.getByRole('table').innerText()).toContain('Console App');
        // The key shown works against the API.
        expect((await stack.gql(`{ apps { name } }`, {}, apiKey)).data.apps).toEqual([{ name: 'Console App' }]);
        // A reload keeps the session (this tab) but not the secrets.
        await page.reload();
        await expect.poll(() => page.getByRole('table').innerText()).toContain('Console App');
        expect(await page.getByRole('textbox', { name: 'Write key', exact: true }).count()).toBe(0);

        expect(outside).toEqual([]);
        expect(problems).toEqual([]);
        await context.close();
      },
    );

    it(
      "a newcomer's path: create an app, send its first event with the Connect page's Node setup, mark it as aha (the trial that did it moves), watch another trial move live",
      { timeout: 90_000 },
      async () => {
        const { context, outside, page } = await signedIn();
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(error.message));
        await page.goto(stack.url);
        await page.getByLabel("New app's name").fill('Newcomer');
        await page.getByRole('button', { name: 'Create app' }).click();
        await page.getByRole('link', { name: 'connect Newcomer', exact: true }).click();
        await expect.poll(() => page.getByRole('status').first().innerText()).toContain('Waiting for your first event');
        // The Node setup, as shown (this host and the new app's write key filled in), run with the real library.
        const node = await page.getByRole('region', { name: 'Node' }).locator('code').innerText();
        const writeKey = /writeKey: '([^']+)'/.exec(node)![1]!;
        expect(node).toContain(`host: '${stack.url}'`);
        const analytics = new Analytics({ writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
        analytics.identify({ userId: 'newcomer-user', traits: { email: 'new@example.com', trial_end: '2099-01-01T00:00:00Z' } });
        analytics.track({ userId: 'newcomer-user', event: 'Report Viewed' });
        await analytics.closeAndFlush();
        await expect.poll(() => page.getByRole('status').first().innerText(), { timeout: 15_000 }).toContain('Events are arriving');

        await page.getByRole('link', { name: 'Signal queue' }).click();
        // Counts per day: today's bar says so in words.
        const today = new Date().toISOString().slice(0, 10);
        const perDay = page.getByRole('row', { name: /Report Viewed/ }).getByRole('list', { name: 'Per day, the last 14' });
        await expect.poll(() => perDay.innerText()).toContain(`${today}: 1`);
        expect((await perDay.getByRole('listitem').allInnerTexts()).length).toBe(14);
        await page.getByRole('button', { name: 'Mark Report Viewed as aha' }).click();
        await expect.poll(() => page.getByRole('button', { name: 'Report Viewed is an aha event' }).count()).toBe(1);

        await page.getByRole('link', { name: 'Trials' }).click();
        const column = (segment: string) => page.locator(`[data-segment="${segment}"]`);
        // It had viewed a report before that was its aha: marking it moved the trial to found value.
        await expect.poll(() => column('found_value').innerText(), { timeout: 15_000 }).toContain('newcomer-user');
        // A second user starts while the board is open, then reaches aha: the card appears and moves without a reload.
        const second = new Analytics({ writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
        second.identify({ userId: 'second-user', traits: { email: 'second@example.com', trial_end: '2099-01-01T00:00:00Z' } });
        await second.closeAndFlush();
        await expect.poll(() => column('exploring').innerText(), { timeout: 15_000 }).toContain('second-user');
        const third = new Analytics({ writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
        third.track({ userId: 'second-user', event: 'Report Viewed' });
        await third.closeAndFlush();
        await expect.poll(() => column('found_value').innerText(), { timeout: 45_000 }).toContain('second-user');
        expect(await column('exploring').innerText()).not.toContain('second-user');
        expect(outside).toEqual([]);
        expect(problems).toEqual([]);
        await context.close();
      },
    );

    it(
      'a Segment destination from the endpoint form: its write key asked for, refused without it, its request previewed before saving, never shown once saved',
      { timeout: 60_000 },
      async () => {
        const source = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Destination source' })).data!.createApp;
        const target = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Destination target' })).data!.createApp;
        const { context, outside, page } = await signedIn();
        await page.goto(`${stack.url}/#/apps/${source.app.id}/endpoints`);
        await expect.poll(() => page.locator('main').innerText()).toContain('No endpoints yet');
        await page.getByLabel('Format').selectOption('segment');
        await page.getByLabel('Tracking API base URL').fill(stack.url);
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        await expect.poll(() => page.getByRole('alert').first().innerText()).toContain('the segment format needs destination.writeKey');
        await page.getByLabel('Destination write key').fill(target.writeKey);
        // Before saving: the request a sample move would make of what is typed, its key masked.
        await page.getByRole('button', { name: 'Preview before saving' }).click();
        const draft = page.getByRole('region', { name: 'The request a sample move would send' });
        await expect.poll(() => draft.innerText()).toContain(`POST ${stack.url}/v1/batch`);
        expect(await draft.innerText()).toContain('authorization: Basic ••••');
        expect(await draft.innerText()).not.toContain(target.writeKey);
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        await expect.poll(() => page.locator('main').innerText()).not.toContain('No endpoints yet');
        expect(await page.locator('main').innerText()).not.toContain(target.writeKey);
        const [endpoint] = (await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { format destinationSet } }`, { a: source.app.id })).data
          .webhookEndpoints;
        expect(endpoint).toEqual({ format: 'segment', destinationSet: true });
        // The request a sample move would make, its key masked.
        await page.getByRole('button', { name: 'Preview the request' }).click();
        const preview = page.getByRole('region', { name: 'The request a sample move would send' });
        await expect.poll(() => preview.innerText()).toContain(`POST ${stack.url}/v1/batch`);
        expect(await preview.innerText()).toContain('authorization: Basic ••••');
        expect(await preview.innerText()).toContain('"trial_segment": "found_value"');
        expect(outside).toEqual([]);
        await context.close();
      },
    );

    it(
      "the signal queue: an event's lift on conversion with its interval, and one click to propose it as the aha event, with what it would move shown before saving",
      { timeout: 90_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Lift' })).data!.createApp;
        // Sixty finished trials: 24 of the 30 that invited a teammate converted, 3 of the 30 that did not.
        const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
        for (let index = 0; index < 60; index++) {
          const invited = index < 30;
          const converted = invited ? index < 24 : index < 33;
          const id = await seedTrial(stack, app.app.id, `lift-${index}`, [
            ['exploring', 'trial_started', day(20)],
            [converted ? 'converted' : 'expired', converted ? 'converted' : 'trial_ended', day(6)],
          ]);
          await stack.sql(
            `insert into trial_outcomes (trial_id, app_id, kind, trial_start, outcome_at, converted, events) values ($1, $2, 'user', $3, $4, $5, $6)`,
            [id, app.app.id, day(20), day(6), converted, invited ? ['Invited Teammate', 'Clicked'] : ['Clicked']],
          );
        }
        // An open trial that has invited a teammate, before that was an aha event.
        await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'fresh', trialEnd: '2099-01-01T00:00:00Z' } });
        const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
        analytics.track({ userId: 'fresh', event: 'Invited Teammate' });
        await analytics.closeAndFlush();
        const segmentOf = async () =>
          (await stack.gql(`query($a: ID!) { trial(appId: $a, userId: "fresh") { segment } }`, { a: app.app.id })).data.trial?.segment;
        await eventually(async () => ((await segmentOf()) === 'exploring' ? true : undefined), 15_000);

        const { context, outside, page } = await signedIn();
        await page.goto(`${stack.url}/#/apps/${app.app.id}/signals`);
        const row = page.getByRole('row', { name: /Invited Teammate/ });
        await expect.poll(() => row.innerText(), { timeout: 15_000 }).toMatch(/\+70\.0 points \(\+\d+\.\d to \+\d+\.\d\) driver/);
        await row.getByRole('link', { name: 'Make Invited Teammate the aha event…' }).click();
        await expect.poll(() => page.getByRole('note').innerText()).toContain('Invited Teammate added to the aha events below, not saved yet');
        expect(await page.getByLabel('Aha events').inputValue()).toContain('Invited Teammate');
        const preview = page.getByRole('status', { name: 'Preview' });
        await expect.poll(() => preview.innerText(), { timeout: 15_000 }).toContain('Saving would move 1 of 1 open trials');
        expect(await preview.getByRole('table').innerText()).toMatch(/Exploring\s+Found value\s+1\s+fresh/);
        expect(await segmentOf()).toBe('exploring');
        await page.getByRole('button', { name: 'Save settings' }).click();
        await eventually(async () => ((await segmentOf()) === 'found_value' ? true : undefined), 20_000);
        expect(outside).toEqual([]);
        await context.close();
      },
    );

    it(
      'a holdout from the endpoint card: started, shown on the card, its held-back delivery in the log, its report saying there is not enough data yet, stopped',
      { timeout: 90_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Holdouts' })).data!.createApp;
        const hook = await new Receiver().start();
        try {
          await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url } });
          const { context, outside, page } = await signedIn();
          await page.goto(`${stack.url}/#/apps/${app.app.id}/endpoints`);
          const card = page.getByRole('article', { name: `Endpoint ${hook.url}` });
          await card.getByRole('button', { name: 'Holdout and its report' }).click();
          const panel = card.getByRole('region', { name: 'Holdout', exact: true });
          await expect.poll(() => panel.innerText()).toContain('No holdout yet');
          await panel.getByLabel('Hold out (percent of trials)').fill('80');
          await panel.getByRole('button', { name: 'Start a holdout' }).click();
          await expect.poll(() => panel.getByRole('alert').innerText()).toContain('percent must be a whole number from 1 to 50');
          await panel.getByLabel('Hold out (percent of trials)').fill('50');
          await panel.getByRole('button', { name: 'Start a holdout' }).click();
          await expect.poll(() => card.innerText()).toContain('holdout running: 50 % held out');
          // Trials until one is held out (a fair coin each): its delivery is in the log, held back.
          for (
            let index = 0;
            (await stack.count(
              `select count(*) as n from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 and d.status = 'held_out'`,
              [app.app.id],
            )) === 0;
            index++
          ) {
            await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: `coin-${index}`, trialEnd: '2099-01-01T00:00:00Z' } });
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          await card.getByLabel('Status').selectOption('held_out');
          await expect.poll(() => card.getByRole('region', { name: 'Delivery log' }).innerText(), { timeout: 15_000 }).toContain('held out: never sent');
          const report = panel.getByRole('region', { name: 'Holdout report' });
          await panel.getByRole('button', { name: 'Stop the holdout' }).click();
          await expect.poll(() => panel.innerText()).toContain('Start a holdout');
          expect(await report.innerText()).toContain('Not enough data yet');
          expect(await report.getByRole('row', { name: /Held out/ }).innerText()).toMatch(/Held out\s+[1-9]/);
          expect(outside).toEqual([]);
          await context.close();
        } finally {
          await hook.stop();
        }
      },
    );

    it(
      'an endpoint: added, tested (the answer shown, the signature good for its secret), failing deliveries shown with their attempts, redelivered',
      { timeout: 150_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Hooks' })).data!.createApp;
        const hook = await new Receiver().start();
        try {
          const { context, outside, page } = await signedIn();
          await page.goto(`${stack.url}/#/apps/${app.app.id}/endpoints`);
          await expect.poll(() => page.locator('main').innerText()).toContain('No endpoints yet');
          await page.getByLabel('Endpoint URL').fill(hook.url);
          await page.getByRole('button', { name: 'Add endpoint' }).click();
          const card = page.getByRole('article', { name: `Endpoint ${hook.url}` });
          await card.getByRole('button', { name: 'Send a test webhook' }).click();
          await expect.poll(() => card.getByRole('status', { name: 'Test result' }).innerText()).toMatch(/Answered 200 in \d+ ms/);
          await card.getByRole('button', { name: 'Reveal the signing secret' }).click();
          const secret = await card.getByLabel('Signing secret').inputValue();
          const [request] = await hook.waitFor(1);
          expect(new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>)).toMatchObject({
            event: 'webhook.test',
            app_id: app.app.id,
          });

          // The receiver fails: a transition's delivery shows its failed attempt; once it answers again, a redelivery succeeds.
          hook.script({ status: 500 }, { status: 500 }, { status: 500 });
          await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'hooked', trialEnd: '2099-01-01T00:00:00Z' } });
          const row = card.locator('tr', { hasText: 'trial.segment_changed' });
          await expect
            .poll(
              async () => {
                await card.getByRole('button', { name: 'Refresh' }).click();
                // The row appears after a refresh: read it only when it is there (innerText would wait for it).
                return (await row.count()) ? row.innerText() : '';
              },
              // Under the whole suite's load the transition can take a while to be recorded.
              { timeout: 45_000 },
            )
            .toMatch(/500 in \d+ ms/);
          hook.script();
          await row.getByRole('button', { name: /^Redeliver trial.segment_changed/ }).click();
          await expect
            .poll(
              async () => {
                await card.getByRole('button', { name: 'Refresh' }).click();
                // The row appears after a refresh: read it only when it is there (innerText would wait for it).
                return (await row.count()) ? row.innerText() : '';
              },
              { timeout: 45_000 },
            )
            .toContain('delivered');
          expect(outside).toEqual([]);
          await context.close();
        } finally {
          await hook.stop();
        }
      },
    );

    it('an outage replayed from a chosen time: every failed delivery since then sent again, and delivered', { timeout: 60_000 }, async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Outage' })).data!.createApp;
      const hook = await new Receiver().start();
      try {
        // One attempt only: the receiver's 500 fails the delivery at once.
        hook.script({ status: 500 });
        await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, retrySchedule: ['PT0S'] } });
        await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'outage-user', trialEnd: '2099-01-01T00:00:00Z' } });
        const failed = async () =>
          stack.count(
            `select count(*) as n from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 and d.status = 'failed'`,
            [app.app.id],
          );
        await eventually(async () => ((await failed()) === 1 ? true : undefined), 30_000);
        const { context, outside, page } = await signedIn();
        await page.goto(`${stack.url}/#/apps/${app.app.id}/endpoints`);
        await expect.poll(() => page.locator('tr[data-delivery]').first().innerText(), { timeout: 15_000 }).toContain('failed');
        // The outage began an hour ago (the browser's own time zone, as a person picks it).
        const hourAgo = new Date(Date.now() - 3_600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
        await page.getByLabel('Replay failed deliveries since').fill(hourAgo);
        await page.getByRole('button', { name: 'Replay', exact: true }).click();
        await expect.poll(() => page.getByText(/failed deliver(y|ies) sent again/).innerText()).toBe('1 failed delivery sent again');
        const [first, resent] = await hook.waitFor(2);
        // The same message again, under the webhook-id it always had (a receiver that saw it can tell).
        expect(JSON.parse(resent!.body).event).toBe('trial.segment_changed');
        expect(JSON.parse(resent!.body).data).toEqual(JSON.parse(first!.body).data);
        expect(resent!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
        await expect
          .poll(
            async () => {
              await page.getByRole('button', { name: 'Refresh' }).click();
              return page.locator('tr[data-delivery]').first().innerText();
            },
            { timeout: 30_000 },
          )
          .toContain('delivered');
        expect(outside).toEqual([]);
        await context.close();
      } finally {
        await hook.stop();
      }
    });

    it('settings: durations as people say them, shown back; every bad field shown at its field', { timeout: 60_000 }, async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Settings' })).data!.createApp;
      const { context, outside, page } = await signedIn();
      await page.goto(`${stack.url}/#/apps/${app.app.id}/settings`);
      await expect.poll(() => page.getByLabel('A user is quiet after').inputValue()).toBe('3 days');
      // Refused in the page: not a duration.
      await page.getByLabel('A user is quiet after').fill('soon');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.locator('#problem-setting-inactivityAfter').innerText()).toContain('is not a duration');
      // Refused by the API (payload errors), shown at the field it names.
      await page.getByLabel('A user is quiet after').fill('2 days');
      await page.getByLabel('The trial is ending soon').fill('1 day');
      await page.getByLabel('Last chance').fill('2 days');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect
        .poll(() => page.locator('#problem-setting-lastChanceBefore').innerText())
        .toContain('lastChanceBefore must not be longer than endingSoonBefore');
      // Saved: shown back as people say them, stored as ISO-8601.
      await page.getByLabel('Last chance').fill('12 hours');
      await page.getByLabel('Aha events').fill('Report Viewed, Invited');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.getByRole('status').innerText()).toContain('Saved');
      expect(await page.getByLabel('Last chance').inputValue()).toBe('12 hours');
      const stored = (
        await stack.gql(`query($a: ID!) { segmentSettings(appId: $a) { ahaEvents inactivityAfter endingSoonBefore lastChanceBefore } }`, { a: app.app.id })
      ).data.segmentSettings;
      expect(stored).toEqual({ ahaEvents: ['Report Viewed', 'Invited'], inactivityAfter: 'P2D', endingSoonBefore: 'P1D', lastChanceBefore: 'PT12H' });

      // An aha rule: refused at its own field by the API, then saved.
      await page.getByRole('button', { name: 'Add a rule' }).click();
      await page.getByLabel('Rule 1 event').fill('Report Exported');
      await page.getByLabel('Rule 1 property').fill('format');
      await page.getByLabel('Rule 1 equals').fill('pdf');
      await page.getByLabel('Rule 1 count').fill('0');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.locator('#problem-rule-0-count').innerText()).toContain('count must be 1 to 10000');
      expect(await page.getByLabel('Rule 1 count').getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel('Rule 1 count').fill('3');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.getByRole('status').innerText()).toContain('Saved');
      expect(await page.locator('#problem-rule-0-count').count()).toBe(0);
      const rules = (await stack.gql(`query($a: ID!) { segmentSettings(appId: $a) { ahaRules { event property equals count } } }`, { a: app.app.id })).data
        .segmentSettings.ahaRules;
      expect(rules).toEqual([{ event: 'Report Exported', property: 'format', equals: 'pdf', count: 3 }]);
      // Shown back after a reload.
      await page.reload();
      await expect.poll(() => page.getByLabel('Rule 1 count').inputValue()).toBe('3');
      expect(outside).toEqual([]);
      await context.close();
    });

    it("an app's API keys created (shown once) and revoked; its integration secrets set and removed, never shown", { timeout: 60_000 }, async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Keys' })).data!.createApp;
      const { context, outside, page } = await signedIn();
      await page.goto(`${stack.url}/#/apps/${app.app.id}/keys`);
      await expect.poll(() => page.getByRole('table').innerText()).toContain('Active');
      await page.getByLabel("New key's name").fill('reporting script');
      await page.keyboard.press('Enter');
      const secret = await page.getByRole('textbox', { name: 'New API key' }).inputValue();
      expect(await page.getByRole('note').innerText()).toContain('shown once');
      const APPS = `{ apps { id } }`;
      expect((await stack.gql(APPS, {}, secret)).data.apps).toEqual([{ id: app.app.id }]);
      await page.getByRole('button', { name: 'Revoke reporting script…' }).click();
      await page.getByRole('button', { name: 'Revoke reporting script now' }).click();
      await expect.poll(() => page.getByRole('row', { name: /reporting script/ }).innerText()).toContain('Revoked');
      expect((await stack.gql(APPS, {}, secret)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // The app's first key still works.
      expect((await stack.gql(APPS, {}, app.apiKey)).data.apps).toEqual([{ id: app.app.id }]);

      await page.getByRole('link', { name: 'Connect' }).click();
      const stripe = page.getByLabel('Stripe signing secret');
      await expect.poll(() => page.locator('#integration-stripeSigningSecret-state').innerText()).toContain('Not set');
      await stripe.fill('whsec_console_test');
      await stripe.press('Enter');
      await expect.poll(() => page.locator('#integration-stripeSigningSecret-state').innerText()).toContain('Set: the Stripe-Signature');
      expect(await stripe.inputValue()).toBe('');
      const STATE = `query($a: ID!) { integrations(appId: $a) { segmentSharedSecretSet stripeSigningSecretSet } }`;
      expect((await stack.gql(STATE, { a: app.app.id })).data.integrations).toEqual({ segmentSharedSecretSet: false, stripeSigningSecretSet: true });
      expect(await page.content()).not.toContain('whsec_console_test');
      await page.getByRole('button', { name: 'Remove the stripe signing secret' }).click();
      await expect.poll(() => page.locator('#integration-stripeSigningSecret-state').innerText()).toContain('Not set');
      expect((await stack.gql(STATE, { a: app.app.id })).data.integrations.stripeSigningSecretSet).toBe(false);
      expect(outside).toEqual([]);
      await context.close();
    });

    it("a trial's page from its card: dates, segment, each move with its reason, and a command (convert)", { timeout: 60_000 }, async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Trial page' })).data!.createApp;
      await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'page-user', email: 'page@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
      const { context, outside, page } = await signedIn();
      await page.goto(`${stack.url}/#/apps/${app.app.id}/trials`);
      // Search by email: nothing starts with zz; the user's email does.
      await page.getByLabel('User id or email starts with').fill('zz');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('main').innerText()).toContain("No trial's user id or email starts with “zz”");
      await page.getByLabel('User id or email starts with').fill('PAGE@');
      await page.keyboard.press('Enter');
      await page.getByRole('link', { name: 'page-user' }).click();
      await expect.poll(() => page.getByTestId('segment').innerText(), { timeout: 15_000 }).toBe('exploring');
      expect(await page.locator('main').innerText()).toContain('page@example.com');
      expect(await page.locator('.moves').innerText()).toContain('trial started');
      await page.getByRole('button', { name: 'Mark converted' }).click();
      await expect.poll(() => page.getByTestId('segment').innerText(), { timeout: 15_000 }).toBe('converted');
      expect(await page.locator('.moves').innerText()).toMatch(/exploring → converted/);
      expect(await page.getByRole('button', { name: 'Mark converted' }).count()).toBe(0);
      expect(outside).toEqual([]);
      await context.close();
    });

    it(
      'the live feed: the last hour replayed, resumed after a dropped connection with no gap and no duplicate, filtered by segment',
      { timeout: 90_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Feed' })).data!.createApp;
        const segmentOf = async (userId: string) =>
          (await stack.gql(`query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { segment } }`, { a: app.app.id, u: userId })).data.trial?.segment;
        await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'feed-a', trialEnd: '2099-01-01T00:00:00Z' } });
        await eventually(async () => ((await segmentOf('feed-a')) === 'exploring' ? true : undefined), 20_000);

        const { context, outside, page } = await signedIn();
        // The edge of the world: the network between the page and the API, which can drop.
        let down = false;
        const open: WebSocketRoute[] = [];
        await page.routeWebSocket(/\/graphql$/, (socket) => {
          if (down) return socket.close({ code: 1012, reason: 'network down' });
          socket.connectToServer();
          open.push(socket);
        });
        await page.goto(`${stack.url}/#/apps/${app.app.id}/feed`);
        const rows = page.getByRole('table', { name: 'Moves' }).locator('tbody tr');
        await expect.poll(() => rows.allInnerTexts(), { timeout: 15_000 }).toEqual([expect.stringMatching(/feed-a\s+Start → Exploring\s+trial started/)]);

        // The connection drops; two moves are recorded while the page is away.
        down = true;
        for (const socket of open.splice(0)) await socket.close({ code: 1012, reason: 'network down' });
        await stack.gql(`mutation($i: ConvertTrialInput!) { convertTrial(input: $i) { errors { message } } }`, { i: { appId: app.app.id, userId: 'feed-a' } });
        await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'feed-b', trialEnd: '2099-01-01T00:00:00Z' } });
        await eventually(async () => ((await segmentOf('feed-a')) === 'converted' && (await segmentOf('feed-b')) === 'exploring' ? true : undefined), 20_000);
        down = false;
        await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(3);
        const texts = await rows.allInnerTexts();
        expect(texts[0]).toMatch(/feed-b\s+Start → Exploring/);
        expect(texts[1]).toMatch(/feed-a\s+Exploring → Converted/);
        expect(texts[2]).toMatch(/feed-a\s+Start → Exploring/);
        // What was replayed twice is shown once.
        const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-change')));
        expect(new Set(ids).size).toBe(3);

        // Filtered on the server: only moves into converted.
        await page.getByLabel('Converted').check();
        await expect.poll(() => rows.allInnerTexts(), { timeout: 15_000 }).toEqual([expect.stringMatching(/feed-a\s+Exploring → Converted/)]);
        expect(outside).toEqual([]);
        await context.close();
      },
    );

    it(
      'an endpoint edited (headers, timeout, schedule, ordering), bad fields shown at their field, its secret rotated with the overlap shown, deleted',
      { timeout: 60_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Edit hooks' })).data!.createApp;
        const hook = await new Receiver().start();
        try {
          const { context, outside, page } = await signedIn();
          await page.goto(`${stack.url}/#/apps/${app.app.id}/endpoints`);
          await page.getByLabel('Endpoint URL').fill(hook.url);
          await page.getByLabel('Description').fill('Our CRM');
          await page.getByRole('button', { name: 'Add endpoint' }).click();
          const card = page.getByRole('article', { name: `Endpoint ${hook.url}` });
          await expect.poll(() => card.getByTestId('health').innerText()).toBe('Healthy');

          await card.getByRole('button', { name: 'Edit' }).click();
          // The current settings as people say them.
          expect(await card.getByLabel('Retry schedule').inputValue()).toBe(
            '0 seconds, 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 14 hours, 20 hours, 24 hours',
          );
          expect(await card.getByLabel('Disable after failing for').inputValue()).toBe('5 days');
          await card.getByLabel('Retry schedule').fill('5 seconds, soon');
          await card.getByRole('button', { name: 'Save endpoint' }).click();
          await expect.poll(() => card.getByLabel('Retry schedule').getAttribute('aria-invalid')).toBe('true');
          expect(await card.getByRole('alert').innerText()).toContain('"soon" is not a duration');
          // Refused by the API, shown at the field it names.
          await card.getByLabel('Retry schedule').fill('10 seconds, 1 minute');
          await card.getByLabel('Timeout (seconds)').fill('60');
          await card.getByRole('button', { name: 'Save endpoint' }).click();
          await expect.poll(() => card.getByRole('alert').innerText()).toContain('timeoutMs must be 1000 to 30000');
          expect(await card.getByLabel('Timeout (seconds)').getAttribute('aria-invalid')).toBe('true');
          await card.getByLabel('Timeout (seconds)').fill('5');
          await card.getByRole('button', { name: 'Add a header' }).click();
          await card.getByLabel('Header 1 name').fill('X-Team');
          await card.getByLabel('Header 1 value').fill('growth');
          await card.getByLabel(/arrive in order/).uncheck();
          await card.getByRole('button', { name: 'Save endpoint' }).click();
          // Saved: the form closes (while it saves, its button reads Saving…).
          await expect.poll(() => card.getByLabel('Retry schedule').count()).toBe(0);
          const stored = (
            await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { description timeoutMs ordered retrySchedule headers { name value } } }`, {
              a: app.app.id,
            })
          ).data.webhookEndpoints;
          expect(stored).toEqual([
            { description: 'Our CRM', timeoutMs: 5000, ordered: false, retrySchedule: ['PT10S', 'PT1M'], headers: [{ name: 'X-Team', value: 'growth' }] },
          ]);
          await expect.poll(() => card.innerText()).toContain('headers X-Team');
          // The custom header is sent.
          await card.getByRole('button', { name: 'Send a test webhook' }).click();
          const [request] = await hook.waitFor(1);
          expect(request!.headers['x-team']).toBe('growth');
          // The request sent (its body as the API recorded it) beside the response received.
          await expect
            .poll(() => card.getByRole('status', { name: 'Test result' }).innerText())
            .toMatch(/Request sent[^]*"event":\s*"webhook.test"[^]*Response received/);

          // Rotation: the overlap is shown; both secrets verify the next request.
          await card.getByRole('button', { name: 'Reveal the signing secret' }).click();
          const before = await card.getByLabel('Signing secret').inputValue();
          await card.getByRole('button', { name: 'Rotate the secret' }).click();
          await expect.poll(() => card.getByLabel('Signing secret').inputValue()).not.toBe(before);
          expect(await card.getByText('The previous secret still signs beside this one until').count()).toBe(1);
          const after = await card.getByLabel('Signing secret').inputValue();
          await card.getByRole('button', { name: 'Send a test webhook' }).click();
          const [, signed] = await hook.waitFor(2);
          for (const secret of [before, after]) expect(() => new Webhook(secret).verify(signed!.body, signed!.headers as Record<string, string>)).not.toThrow();

          await card.getByRole('button', { name: 'Delete…' }).click();
          await card.getByRole('button', { name: `Delete ${hook.url} and its delivery log` }).click();
          await expect.poll(() => page.locator('main').innerText()).toContain('No endpoints yet');
          expect((await stack.gql(`query($a: ID!) { webhookEndpoints(appId: $a) { id } }`, { a: app.app.id })).data.webhookEndpoints).toEqual([]);
          expect(outside).toEqual([]);
          await context.close();
        } finally {
          await hook.stop();
        }
      },
    );

    it(
      "insights: the charts and tables show the API's numbers; the settings preview; a trial's timeline with its webhook's attempts; a CSV download",
      { timeout: 120_000 },
      async () => {
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Insights' })).data!.createApp;
        const hours = (n: number) => new Date(Date.now() - n * 3_600_000).toISOString();
        // A small history inside the last 30 days: two trials explore, one goes quiet then finds value and converts, one expires.
        await seedTrial(stack, app.app.id, 'ins-ada', [
          ['exploring', 'trial_started', hours(300)],
          ['gone_quiet', 'inactivity', hours(250)],
          ['found_value', 'aha_event_received', hours(100)],
          ['converted', 'converted', hours(50)],
        ]);
        await seedTrial(
          stack,
          app.app.id,
          'ins-bob',
          [
            ['exploring', 'trial_started', hours(190)],
            ['gone_quiet', 'inactivity', hours(20)],
          ],
          { lastActivityAt: hours(30), createdAt: hours(190) },
        );
        await seedTrial(stack, app.app.id, 'ins-cy', [['exploring', 'trial_started', hours(3)]], { lastActivityAt: hours(2), createdAt: hours(3) });
        const { context, outside, page } = await signedIn();
        const problems: string[] = [];
        page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
        page.on('pageerror', (error) => problems.push(error.message));
        await page.goto(`${stack.url}/#/apps/${app.app.id}/insights`);
        await expect.poll(() => page.getByRole('table', { name: 'Moves' }).count(), { timeout: 15_000 }).toBe(1);

        // The same numbers as the API, for the range the page asked.
        const now = Date.now();
        const range = { a: app.app.id, from: new Date(now - 30 * 86_400_000).toISOString(), to: new Date(now).toISOString() };
        const api = (
          await stack.gql(
            `query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentFlow(appId: $a, from: $from, to: $to) { moves { from to trials } }
               conversion(appId: $a, from: $from, to: $to) { byPath { path trials converted } } }`,
            range,
          )
        ).data;
        const label = (key: string | null) =>
          key === null
            ? 'Start'
            : key
                .split('_')
                .map((word, i) => (i === 0 ? word[0]!.toUpperCase() + word.slice(1) : word))
                .join(' ');
        const shownMoves = await page.getByRole('table', { name: 'Moves' }).locator('tbody tr').allInnerTexts();
        expect(shownMoves.map((row) => row.split('\t').map((cell) => cell.trim()))).toEqual(
          api.segmentFlow.moves.map((move: { from: string | null; to: string; trials: number }) => [label(move.from), label(move.to), String(move.trials)]),
        );
        const pathRows = await page.getByRole('table', { name: 'Conversion by path' }).locator('tbody tr').allInnerTexts();
        expect(pathRows).toHaveLength(api.conversion.byPath.length);
        expect(pathRows.join('\n')).toContain('Exploring → Gone quiet → Found value\t1\t1\t0\t0\t100 %');
        // Going quiet: Bob in the last 7 days, Ada's earlier move in the 7 before.
        expect(await page.getByTestId('going-quiet').innerText()).toMatch(/^1 moves into gone quiet in the last 7 days, beside 1 in the 7 days before/);
        // The charts are drawn (SVG), each beside its table.
        expect(await page.locator('figure[aria-label="Segment sizes, stacked"] svg path').count()).toBeGreaterThan(0);
        expect(await page.locator('figure[aria-label="Moves from segment to segment"] svg').count()).toBeGreaterThan(0);
        await page.getByText('The numbers').click();
        const lastSizes = await page.getByRole('table', { name: 'Segment sizes' }).locator('tbody tr').last().innerText();
        // Today: Ada converted, Bob gone quiet, Cy exploring.
        expect(lastSizes.split('\t').slice(1).map(Number)).toEqual([1, 0, 0, 1, 0, 0, 0, 1, 0]);

        // The settings preview: a 1-hour quiet window would move Cy (active 2 h ago) and nobody else.
        await page.getByRole('link', { name: 'Settings' }).click();
        await page.getByLabel('A user is quiet after').fill('1 hour');
        await page.getByRole('button', { name: 'Preview what these settings would move' }).click();
        const preview = page.getByRole('status', { name: 'Preview' });
        await expect.poll(() => preview.innerText(), { timeout: 15_000 }).toContain('Saving would move 1 of 2 open trials');
        expect(await preview.getByRole('table').innerText()).toMatch(/Exploring\s+Gone quiet\s+1\s+ins-cy/);
        expect(
          (await stack.gql(`query($a: ID!) { segmentSettings(appId: $a) { inactivityAfter } }`, { a: app.app.id })).data.segmentSettings.inactivityAfter,
        ).toBe('P3D');

        // A CSV of the gone-quiet trials.
        await page.getByRole('link', { name: 'Trials' }).click();
        await page.getByLabel('Export as CSV').selectOption('gone_quiet');
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
        expect(download.suggestedFilename()).toBe(`trials-${app.app.id}-gone_quiet.csv`);
        const csv = await readFile((await download.path())!, 'utf8');
        expect(
          csv
            .trimEnd()
            .split('\r\n')
            .slice(1)
            .map((line) => line.split(',')[0]),
        ).toEqual(['ins-bob']);

        // A real trial's timeline: its first webhook failed once, then was delivered.
        const hook = await new Receiver().start();
        try {
          hook.script({ status: 500 });
          await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, description: 'HubSpot', retrySchedule: ['PT0S', 'PT1S'] } });
          await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'ins-live', trialEnd: '2099-01-01T00:00:00Z' } });
          await page.goto(`${stack.url}/#/apps/${app.app.id}/trials/ins-live`);
          // Read again until the retry is recorded (the page reloads by itself on moves, not on attempts).
          await expect
            .poll(
              async () => {
                await page.reload();
                await page.locator('.timeline').waitFor();
                return page.locator('.timeline').innerText();
              },
              { timeout: 30_000, interval: 1000 },
            )
            .toContain('webhook to HubSpot delivered on the 2nd attempt');
        } finally {
          await hook.stop();
        }
        expect(outside).toEqual([]);
        expect(problems).toEqual([]);
        await context.close();
      },
    );

    it('an account trial: its card on the board names the team, its page lists the members with their aha, live', { timeout: 60_000 }, async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Teams' })).data!.createApp;
      await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
        i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
      });
      const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
      analytics.identify({ userId: 'ada', traits: { email: 'ada@acme.test' } });
      analytics.group({ userId: 'ada', groupId: 'acme', traits: { name: 'Acme', trial_end: '2099-01-01T00:00:00Z' } });
      analytics.group({ userId: 'bob', groupId: 'acme', traits: {} });
      await analytics.closeAndFlush();
      const { context, outside, page } = await signedIn();
      await page.goto(`${stack.url}/#/apps/${app.app.id}/trials`);
      const card = page.locator('[data-segment="exploring"] .card', { hasText: 'Acme' });
      await expect.poll(() => card.innerText(), { timeout: 15_000 }).toMatch(/account\s+2 members, last active: (ada|bob)/);
      await card.getByRole('link', { name: 'Acme' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Acme (account)');
      const members = page.locator('table.members');
      await expect.poll(() => members.innerText()).toContain('ada@acme.test');
      expect(await members.locator('[data-member="bob"]').innerText()).toContain('not yet');
      // Ada's aha moves the team, and the page follows it live.
      const aha = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
      aha.track({ userId: 'ada', event: 'Report Viewed', context: { groupId: 'acme' } });
      await aha.closeAndFlush();
      await expect.poll(() => page.getByTestId('segment').innerText(), { timeout: 15_000 }).toBe('found value');
      await expect.poll(() => members.locator('[data-member="ada"]').innerText()).toContain('yes');
      expect(outside).toEqual([]);
      await context.close();
    });

    it('every page: no serious accessibility violation (axe-core), every control reached by Tab with a visible focus', { timeout: 120_000 }, async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'Keyboard' })).data!.createApp;
      await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'kb-user', email: 'kb@example.com', trialEnd: '2099-01-01T00:00:00Z' } });
      const hook = await new Receiver().start();
      try {
        await stack.gql(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { errors { message } } }`, {
          i: { appId: app.app.id, url: hook.url },
        });
        const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
        analytics.track({ userId: 'kb-user', event: 'Report Viewed' });
        analytics.group({ userId: 'kb-user', groupId: 'kb-co', traits: { name: 'KB Co', trial_end: '2099-01-01T00:00:00Z' } });
        await analytics.closeAndFlush();
        const axe = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
        const { context, outside, page } = await signedIn();
        // Each page with the heading it shows once it is there (a lazily loaded page keeps the one before on screen meanwhile).
        const pages: Array<[string, string, string]> = [
          ['sign in', '/sign-in', 'Trialcast'],
          ['apps', '/', 'Apps'],
          ['connect', `/apps/${app.app.id}/connect`, 'Connect'],
          ['signal queue', `/apps/${app.app.id}/signals`, 'Signal queue'],
          ['trials', `/apps/${app.app.id}/trials`, 'Trials'],
          ['trial', `/apps/${app.app.id}/trials/kb-user`, 'kb-user'],
          ['account', `/apps/${app.app.id}/accounts/kb-co`, 'KB Co (account)'],
          ['live feed', `/apps/${app.app.id}/feed`, 'Live feed'],
          ['insights', `/apps/${app.app.id}/insights`, 'Insights'],
          ['endpoints', `/apps/${app.app.id}/endpoints`, 'Endpoints'],
          ['settings', `/apps/${app.app.id}/settings`, 'Settings'],
          ['API keys', `/apps/${app.app.id}/keys`, 'API keys'],
        ];
        const found: Record<string, { violations: string[]; unreached: string[]; unmarked: string[] }> = {};
        for (const [name, path, heading] of pages) {
          await page.goto(`${stack.url}/#${path}`);
          // Loaded: its heading is there, and nothing on it still says "Loading".
          await page.waitForFunction(
            (heading) => {
              const main = document.querySelector('main');
              return main?.querySelector('h1')?.textContent === heading && !/Loading/.test(main.textContent ?? '');
            },
            heading,
            { timeout: 15_000 },
          );
          if (name === 'endpoints') await page.getByRole('button', { name: 'Edit' }).click();
          // Evaluated through the DevTools protocol: the console's CSP (rightly) refuses inline scripts.
          await page.evaluate(axe);
          const violations = await page.evaluate(async () => {
            const axe = (
              window as unknown as { axe: { run(options: object): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }
            ).axe;
            const result = await axe.run({ resultTypes: ['violations'] });
            return result.violations
              .filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map((v) => `${v.id}: ${v.nodes.map((node) => (node as { target: string[] }).target.join(' ')).join(', ')}`);
          });
          // Every control, in order, by Tab alone; each shows where the focus is.
          const controls = await page.evaluate(() => {
            const all = [
              ...document.querySelectorAll<HTMLElement>('a[href], button:not([disabled]), input:not([disabled]), select, textarea, summary, [tabindex="0"]'),
            ];
            // What is drawn: not in a closed <details>, not hidden.
            const shown = all.filter((element) => element.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true }));
            shown.forEach((element, index) => element.setAttribute('data-kb', String(index)));
            return shown.map((element) => element.getAttribute('aria-label') || element.id || element.textContent?.trim().slice(0, 30) || element.tagName);
          });
          await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
          const reached = new Set<string>();
          const unmarked = new Set<string>();
          // A date-time field takes a Tab for each of its parts.
          for (let press = 0; reached.size < controls.length && press < controls.length * 8; press += 1) {
            await page.keyboard.press('Tab');
            const focused = await page.evaluate(() => {
              const element = document.activeElement as HTMLElement | null;
              if (!element || element === document.body) return null;
              const style = getComputedStyle(element);
              return { index: element.getAttribute('data-kb'), visible: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
            });
            if (focused?.index == null) continue;
            reached.add(focused.index);
            if (!focused.visible) unmarked.add(controls[Number(focused.index)]!);
          }
          found[name] = {
            violations,
            unreached: controls.filter((_, index) => !reached.has(String(index))),
            unmarked: [...unmarked],
          };
        }
        expect(found).toEqual(Object.fromEntries(pages.map(([name]) => [name, { violations: [], unreached: [], unmarked: [] }])));
        expect(outside).toEqual([]);
        await context.close();
      } finally {
        await hook.stop();
      }
    });

    it('every page whose GraphQL answers an error shows it', { timeout: 30_000 }, async () => {
      const { context, page } = await signedIn();
      // The edge of the world: the API's answer replaced by an error.
      await page.route(`${stack.url}/graphql`, (route) =>
        route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'the database is away' }] }) }),
      );
      for (const path of [
        '/',
        '/apps/app_x/connect',
        '/apps/app_x/signals',
        '/apps/app_x/trials',
        '/apps/app_x/trials/u',
        '/apps/app_x/accounts/a',
        '/apps/app_x/endpoints',
        '/apps/app_x/settings',
        '/apps/app_x/keys',
      ]) {
        await page.goto(`${stack.url}/#${path}`);
        await expect.poll(() => page.getByRole('alert').first().innerText(), { message: path }).toContain('the database is away');
      }
      await context.close();
    });

    it('is served with a Content-Security-Policy, index.html never cached, hashed assets cached for a year', async () => {
      const index = await fetch(`${stack.url}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(await index.text())![1]!;
      const asset = await fetch(`${stack.url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await fetch(`${stack.url}/assets/..%2Fpackage.json`)).status).toBe(404);
      expect((await fetch(`${stack.url}/assets/nothing.js`)).status).toBe(404);
    });
  });
});
