/**
 * `npm run demo`: fills a running Trialcast with a demo app whose trial users send events
 * (through the real ingest routes) and move through segments within minutes: short durations
 * (quiet after 30 s, ending soon 2 min and last chance 1 min before a 4-minute trial), one user
 * finding value, one converting, one going quiet, the others exploring until their trial ends;
 * and beside it a B2B app of three workspaces (demo-b2b.ts).
 * TRIALCAST_URL (default http://127.0.0.1:4000) and ADMIN_TOKEN (default DATA_DIR/admin-token).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { gql, send, type DemoOptions } from './demo-client.ts';
import { runB2bDemo } from './demo-b2b.ts';

export const DEMO_USERS = ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara'];

/** Returns the demo app's id once every step has been sent (the segments keep moving on their timers after). */
export async function runDemo({ url, adminToken, stepMs, log = () => undefined }: DemoOptions): Promise<string> {
  const { createApp } = await gql<{ createApp: { app: { id: string }; writeKey: string } }>(
    url,
    adminToken,
    'mutation($n: String!) { createApp(input: { name: $n }) { app { id } writeKey } }',
    { n: 'Demo' },
  );
  const appId = createApp.app.id;
  const { writeKey } = createApp;
  await gql(url, adminToken, 'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }', {
    i: { appId, ahaEvents: ['Report Viewed'], conversionEvents: ['Subscribed'], inactivityAfter: 'PT30S', endingSoonBefore: 'PT2M', lastChanceBefore: 'PT1M' },
  });
  log(`demo app ${appId}: open ${url}/#/apps/${appId}/trials`);
  const trialEnd = new Date(Date.now() + 4 * 60_000).toISOString();
  const step = () => new Promise((resolve) => setTimeout(resolve, stepMs));
  for (const user of DEMO_USERS) {
    await send(url, writeKey, '/v1/identify', { userId: user, traits: { email: `${user}@example.com`, trial_end: trialEnd } });
    await send(url, writeKey, '/v1/page', { userId: user, name: 'Dashboard' });
  }
  log(`${DEMO_USERS.length} trials started; they explore`);
  await step();
  await send(url, writeKey, '/v1/track', { userId: 'ada', event: 'Report Viewed', properties: { report: 'weekly' } });
  log('ada found value');
  await step();
  await send(url, writeKey, '/v1/track', { userId: 'grace', event: 'Report Viewed' });
  await step();
  await send(url, writeKey, '/v1/track', { userId: 'grace', event: 'Subscribed', properties: { plan: 'pro' } });
  log('grace converted');
  // The others keep clicking for a while; linus stops (and goes quiet 30 s later).
  for (let round = 0; round < 3; round++) {
    await step();
    for (const user of ['margaret', 'ken', 'barbara']) await send(url, writeKey, '/v1/track', { userId: user, event: 'Clicked' });
  }
  log('linus went quiet; the others move to ending soon, last chance and expired on their timers');
  return appId;
}

async function main(): Promise<void> {
  const url = (process.env.TRIALCAST_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
  const adminToken = process.env.ADMIN_TOKEN ?? (await readFile(join(process.env.DATA_DIR ?? '.data', 'admin-token'), 'utf8').catch(() => '')).trim();
  if (!adminToken) throw new Error('no admin token: set ADMIN_TOKEN, or run npm start first (it writes DATA_DIR/admin-token)');
  const options = { url, adminToken, stepMs: 5000, log: (line: string) => console.log(`demo: ${line}`) };
  // The two run side by side: a B2C app of people, a B2B app of workspaces.
  await Promise.all([runDemo(options), runB2bDemo(options)]);
}

// Run as a program (directly, or by bin/run.mjs, which imports it), not when a test imports runDemo.
if (import.meta.main || resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    console.error(`demo: ${error.message} (is Trialcast running at ${process.env.TRIALCAST_URL ?? 'http://127.0.0.1:4000'}?)`);
    process.exit(1);
  });
}
