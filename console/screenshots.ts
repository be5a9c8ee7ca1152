/**
 * `npm run screenshots`: README's pictures, taken from the real console. Starts Trialcast as
 * `npm start` does (embedded PostgreSQL and Temporal, in a temporary folder), fills it with
 * `npm run demo`'s app and an endpoint on a loopback receiver that fails its first answers,
 * waits for the segments to move, and photographs the board, a trial page, the delivery log and the insights
 * in Chromium (CHROMIUM_PATH, default /usr/bin/chromium) into docs/screenshots/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { seedHistory } from '../bench/scenarios/insights.ts';
import { loadConfig } from '../src/config.ts';
import { runDemo } from '../src/demo.ts';
import { freePort } from '../src/infra/net.ts';
import { createLogger } from '../src/logger.ts';
import { startRuntime } from '../src/runtime.ts';
import { Receiver } from '../test/support/receiver.ts';

const OUT = new URL('../docs/screenshots/', import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function gql(url: string, token: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return ((await response.json()) as { data: Record<string, unknown> }).data;
}

const dataDir = await mkdtemp(join(tmpdir(), 'trialcast-screenshots-'));
const adminToken = `tca_${randomBytes(16).toString('hex')}`;
const config = {
  ...loadConfig({}),
  port: 0,
  dataDir,
  adminToken,
  temporalDevPort: await freePort(),
  temporalUiPort: await freePort(),
  webhookAllowPrivateTargets: true,
};
const runtime = await startRuntime({ role: 'all', config, logger: createLogger('warn'), progress: (line) => console.error(line) });
const url = runtime.apiUrl!;
// The receiver fails the first answers, so the log shows a retry.
const hook = await new Receiver().start();
hook.script({ status: 503 }, { status: 500 });
const browser = await chromium.launch({ executablePath: CHROMIUM });
try {
  const appId = await runDemo({ url, adminToken, stepMs: 500, log: (line) => console.error(line) });
  const endpoint = (await gql(url, adminToken, `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }`, {
    i: { appId, url: hook.url, description: 'CRM (HubSpot workflow)', retrySchedule: ['PT0S', 'PT2S', 'PT5S'] },
  })) as { createWebhookEndpoint: { endpoint: { id: string } } };
  console.error(`endpoint ${endpoint.createWebhookEndpoint.endpoint.id}; waiting 40 s for the quiet users to go quiet`);
  await new Promise((resolve) => setTimeout(resolve, 40_000));

  await mkdir(OUT, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, deviceScaleFactor: 1 });
  await context.route('**/*', (route) => (['127.0.0.1', 'localhost'].includes(new URL(route.request().url()).hostname) ? route.continue() : route.abort()));
  await context.addInitScript((token) => sessionStorage.setItem('trialcast:token', token), adminToken);
  const page = await context.newPage();
  const shoot = async (path: string, file: string, ready: () => Promise<unknown>) => {
    await page.goto(`${url}/#${path}`);
    await ready();
    await page.screenshot({ path: new URL(file, OUT).pathname, fullPage: false });
    console.error(`wrote docs/screenshots/${file}`);
  };
  await shoot(`/apps/${appId}/trials`, 'board.png', () => page.locator('[data-segment="gone_quiet"] .card').first().waitFor());
  await shoot(`/apps/${appId}/trials/ada`, 'trial.png', () => page.locator('.moves li').nth(1).waitFor());
  await shoot(`/apps/${appId}/endpoints`, 'delivery-log.png', async () => {
    // The delivery that was retried: its failed attempts, then the answer that delivered it.
    const retried = page.locator('tr[data-delivery]', { hasText: '503' }).first();
    await retried.waitFor();
    await retried.locator('details summary', { hasText: 'Response' }).last().click();
    await retried.evaluate((row) => row.scrollIntoView({ block: 'center' }));
  });
  // The demo's history is minutes long; the insights are shown on an app with 90 days of it (the bench's seed, 3,000 trials).
  const history = (await gql(url, adminToken, `mutation { createApp(input: { name: "Acme (90 days)" }) { app { id } } }`, {})) as {
    createApp: { app: { id: string } };
  };
  const historyApp = history.createApp.app.id;
  const db = new pg.Client({ connectionString: runtime.databaseUrl! });
  await db.connect();
  await seedHistory(db, historyApp, 3000);
  await db.end();
  await shoot(`/apps/${historyApp}/insights`, 'insights.png', async () => {
    await page.getByLabel('Range').selectOption('90');
    await page.locator('figure[aria-label="Segment sizes, stacked"] svg[role="application"]').waitFor();
    await page.mouse.move(0, 0);
  });
  await context.close();
} finally {
  await browser.close();
  await hook.stop();
  await runtime.stop();
  await rm(dataDir, { recursive: true, force: true });
}
