/**
 * The server-side libraries users run, run for real: Segment's Python library (gzip on),
 * RudderStack's Python SDK and Segment's Java library (which posts to /v1/import/), each installed
 * from its registry (test/support/server-sdks.ts). Each identifies a user with trial traits and
 * sends the aha event; the trial must start and move to found value.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, type CreatedApp } from './support/operations.ts';
import { javaClient, pythonClients, required, type SdkClient } from './support/server-sdks.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

function runClient(client: SdkClient, writeKey: string, userId: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(client.command, [...client.args, stack.url, writeKey, userId], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const RUNTIMES = [
  { runtime: 'Python', provision: pythonClients, names: ['segment-analytics-python (gzip)', 'rudder-sdk-python'] },
  { runtime: 'Java', provision: javaClient, names: ['analytics-java'] },
];

for (const { runtime, provision, names } of RUNTIMES) {
  describe(`${runtime} libraries, installed from their registry`, () => {
    let provisioned: Awaited<ReturnType<typeof provision>> | { failed: string };
    // The first run on a machine installs from the registry (pip: seconds; Maven: up to a few minutes).
    beforeAll(async () => {
      try {
        provisioned = await provision();
      } catch (error) {
        provisioned = { failed: (error as Error).message };
      }
    }, 600_000);

    for (const name of names) {
      it(`${name}: identify with trial traits, then the aha event; the trial starts and finds value`, { timeout: 120_000 }, async (context) => {
        if ('failed' in provisioned) throw new Error(provisioned.failed);
        if ('missing' in provisioned) {
          if (required) throw new Error(`${runtime} is required here (TRIALCAST_SERVER_SDKS=required): ${provisioned.missing}`);
          console.warn(`${name} skipped: ${provisioned.missing}`);
          return context.skip();
        }
        const client = provisioned.clients.find((candidate) => candidate.name === name)!;
        const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;
        await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
          i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
        });
        const userId = `sdk-${name.split(' ')[0]}`;
        const { code, output } = await runClient(client, app.writeKey, userId);
        expect(code, output).toBe(0);
        const trial = await eventually(async () => {
          const { data } = await stack.gql(`query($a: ID!, $u: String) { trial(appId: $a, userId: $u) { segment email } }`, { a: app.app.id, u: userId });
          return data.trial?.segment === 'found_value' ? data.trial : undefined;
        }, 30_000);
        expect(trial).toEqual({ segment: 'found_value', email: `${userId}@example.com` });
      });
    }
  });
}
