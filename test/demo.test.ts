/** `npm run demo` against a real stack: its users reach the segments it promises, through the real ingest routes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, runDemo } from '../src/demo.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

describe('npm run demo', () => {
  it('makes a demo app whose trials start, find value and convert within moments', async () => {
    const lines: string[] = [];
    const appId = await runDemo({ url: stack.url, adminToken: stack.adminToken, stepMs: 200, log: (line) => lines.push(line) });
    expect(lines[0]).toBe(`demo app ${appId}: open ${stack.url}/#/apps/${appId}/trials`);
    const segmentOf = async (userId: string) =>
      (await stack.gql(`query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { segment } }`, { a: appId, u: userId })).data.trial?.segment;
    await eventually(async () => ((await segmentOf('ada')) === 'found_value' ? true : undefined), 20_000);
    await eventually(async () => ((await segmentOf('grace')) === 'converted' ? true : undefined), 20_000);
    const counts = (await stack.gql(`query($a: ID!) { segments(appId: $a) { key trials } }`, { a: appId })).data.segments as Array<{
      key: string;
      trials: number;
    }>;
    expect(counts.reduce((sum, segment) => sum + segment.trials, 0)).toBe(DEMO_USERS.length);
  }, 60_000);
});
