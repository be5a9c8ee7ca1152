/**
 * What an operator sees in a browser (Chromium through playwright-core): GraphiQL on /graphql
 * and the Temporal Web UI of `npm start`'s embedded dev server. The browser may reach
 * loopback only, as on a machine without internet: both pages must carry everything they need.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../src/infra/net.ts';
import { startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, START_TRIAL, type CreatedApp } from './support/operations.ts';

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
  });
});
