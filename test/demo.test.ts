/** `npm run demo` against a real stack: its users reach the segments it promises, through the real ingest routes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, runDemo } from '../src/demo.ts';
import { DEMO_WORKSPACES, runB2bDemo } from '../src/demo-b2b.ts';
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

  it('makes a B2B demo app: the second aha moves acme, initech converts through Stripe, globex goes quiet after its last member', async () => {
    const appId = await runB2bDemo({ url: stack.url, adminToken: stack.adminToken, stepMs: 200 });
    const segmentOf = async (accountId: string) =>
      (await stack.gql(`query($a: ID!, $g: String!) { trial(appId: $a, accountId: $g) { segment } }`, { a: appId, g: accountId })).data.trial?.segment;
    await eventually(async () => ((await segmentOf('acme')) === 'found_value' ? true : undefined), 20_000);
    await eventually(async () => ((await segmentOf('initech')) === 'converted' ? true : undefined), 20_000);
    const acme = await stack.gql(
      `query($a: ID!) { trial(appId: $a, accountId: "acme") { account { memberCount members(first: 10) { edges { node { userId aha email } } } } changes { newSegment } } }`,
      { a: appId },
    );
    expect(acme.data.trial.account.memberCount).toBe(DEMO_WORKSPACES.acme.length);
    expect(acme.data.trial.changes.map((change: { newSegment: string }) => change.newSegment)).toEqual(['exploring', 'found_value']);
    const ahaMembers = acme.data.trial.account.members.edges
      .filter((edge: { node: { aha: boolean } }) => edge.node.aha)
      .map((edge: { node: { userId: string } }) => edge.node.userId);
    expect(ahaMembers.sort()).toEqual(['alice', 'bo']);
    expect(acme.data.trial.account.members.edges.every((edge: { node: { email: string } }) => edge.node.email.endsWith('@acme.example'))).toBe(true);
    expect(await segmentOf('globex')).toBe('exploring');
  }, 60_000);
});
