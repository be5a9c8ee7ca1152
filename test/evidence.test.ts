/**
 * Evidence: conversion drivers ranked by the pure core on simulated counts (a planted driver
 * first; under no effect, the false-discovery rate held over 100 simulated apps), and end to
 * end through the real ingest, workflows and outcome rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_GROUP, rankDrivers, type EventOutcomes } from '../src/core/conversion-drivers.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CONVERT_TRIAL, CREATE_APP, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { binomial, seededRandom } from './support/random.ts';

/** One simulated app: `trials` finished trials converting at `base`; each name done by a share of them, `effect` added to the rate of those who did it. */
function simulatedApp(random: () => number, trials: number, base: number, names: Array<{ event: string; share: number; effect: number }>) {
  const people = Array.from({ length: trials }, () => ({ did: new Set<string>(), converted: false }));
  for (const person of people) for (const { event, share } of names) if (random() < share) person.did.add(event);
  for (const person of people) {
    const lift = names.reduce((sum, { event, effect }) => sum + (person.did.has(event) ? effect : 0), 0);
    person.converted = random() < base + lift;
  }
  const events: EventOutcomes[] = names.map(({ event }) => {
    const doers = people.filter((person) => person.did.has(event));
    return { event, trialsWith: doers.length, convertedWith: doers.filter((person) => person.converted).length };
  });
  return { finished: { trials, converted: people.filter((person) => person.converted).length }, events };
}

describe('conversion drivers, ranked (pure)', () => {
  it('a planted driver is ranked first with an interval above 0; a rare event is flagged, not ranked', () => {
    const random = seededRandom(3);
    const names = [
      { event: 'Invited Teammate', share: 0.3, effect: 0.25 },
      ...Array.from({ length: 30 }, (_, index) => ({ event: `Noise ${index}`, share: 0.2 + random() * 0.5, effect: 0 })),
      { event: 'Rare', share: 0.01, effect: 0 },
    ];
    const { finished, events } = simulatedApp(random, 1500, 0.15, names);
    const ranked = rankDrivers(finished, events);
    expect(ranked[0]).toMatchObject({ event: 'Invited Teammate', tooFew: false });
    expect(ranked[0]!.low!).toBeGreaterThan(0);
    expect(ranked[0]!.qValue!).toBeLessThan(0.05);
    expect(ranked.at(-1)).toMatchObject({ event: 'Rare', tooFew: true, qValue: null, difference: null });
    expect(ranked.at(-1)!.trialsWith).toBeLessThan(MIN_GROUP);
  });

  it('under no effect at all, some name passes q < 0.05 in at most 10 of 100 simulated apps (BH holds the false-discovery rate at 5 %)', () => {
    const random = seededRandom(99);
    let withDiscovery = 0;
    for (let run = 0; run < 100; run++) {
      const names = Array.from({ length: 200 }, (_, index) => ({ event: `e${index}`, share: 0.05 + random() * 0.6, effect: 0 }));
      const { finished, events } = simulatedApp(random, 600, 0.2, names);
      if (rankDrivers(finished, events).some((driver) => driver.qValue !== null && driver.qValue < 0.05)) withDiscovery++;
    }
    // Under the complete null the FDR is the chance of any discovery: about 5 of 100 expected.
    expect(withDiscovery).toBeLessThanOrEqual(10);
  });

  it('the binomial helper is what the simulations assume: a mean of n·p', () => {
    const random = seededRandom(1);
    const draws = Array.from({ length: 2000 }, () => binomial(random, 100, 0.3));
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(30, 0);
  });
});

describe('conversion drivers, end to end', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const DRIVERS = /* GraphQL */ `
    query ($a: ID!, $from: DateTime!, $to: DateTime!) {
      conversionDrivers(appId: $a, from: $from, to: $to) {
        finishedTrials
        convertedTrials
        drivers {
          event
          trialsWith
          convertedWith
          trialsWithout
          rateWith
          rateWithout
          difference
          low
          high
          qValue
          tooFew
        }
      }
    }
  `;

  it(
    'ranks the planted driver first among finished trials; what converters do after paying and the conversion event itself are not drivers',
    { timeout: 120_000 },
    async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'drivers' })).data!.createApp;
      await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
        i: { appId: app.app.id, conversionEvents: ['Order Completed'] },
      });
      const random = seededRandom(42);
      const people = Array.from({ length: 120 }, (_, index) => ({ userId: `drv-${index}`, converts: index % 2 === 0 }));
      const ends = new Date(Date.now() + 25_000).toISOString();
      for (const chunk of [people.slice(0, 60), people.slice(60)]) {
        await Promise.all(
          chunk.map(async ({ userId, converts }) =>
            expect(
              (await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: converts ? '2099-01-01T00:00:00Z' : ends } })).data.startTrial
                .errors,
            ).toEqual([]),
          ),
        );
      }
      // Before the outcome: the planted driver (most converters, few others) and noise done by half of everyone.
      const before = new Date(Date.now() - 60_000).toISOString();
      const batch = people.flatMap(({ userId, converts }) => [
        ...(random() < (converts ? 0.75 : 0.1) ? [{ type: 'track', userId, event: 'Invited Teammate', timestamp: before }] : []),
        ...(random() < 0.5 ? [{ type: 'track', userId, event: 'Clicked Around', timestamp: before }] : []),
      ]);
      const basic = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
      const post = async (messages: object[]) =>
        expect(
          (
            await fetch(`${stack.url}/v1/batch`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: basic },
              body: JSON.stringify({ batch: messages }),
            })
          ).status,
        ).toBe(200);
      await post(batch);
      // Converters convert: half by the conversion event, half by the API.
      const converters = people.filter(({ converts }) => converts);
      await post(converters.slice(0, 30).map(({ userId }) => ({ type: 'track', userId, event: 'Order Completed' })));
      await Promise.all(converters.slice(30).map(({ userId }) => stack.gql(CONVERT_TRIAL, { input: { appId: app.app.id, userId } })));
      const finishedTrials = () => stack.count(`select count(*) as n from trial_outcomes where app_id = $1`, [app.app.id]);
      await eventually(async () => ((await finishedTrials()) >= 60 ? true : undefined), 30_000);
      // After paying (a leak, if it counted): only converters view billing.
      await post(converters.map(({ userId }) => ({ type: 'track', userId, event: 'Billing Viewed' })));
      // The others expire when their trial ends.
      await eventually(async () => ((await finishedTrials()) === 120 ? true : undefined), 60_000);

      const range = { a: app.app.id, from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
      const { conversionDrivers } = (await stack.gql(DRIVERS, range)).data;
      expect(conversionDrivers).toMatchObject({ finishedTrials: 120, convertedTrials: 60 });
      const [first, ...rest] = conversionDrivers.drivers;
      expect(first).toMatchObject({ event: 'Invited Teammate', tooFew: false });
      expect(first.low).toBeGreaterThan(0);
      expect(first.qValue).toBeLessThan(0.05);
      expect(first.trialsWith + first.trialsWithout).toBe(120);
      const names = conversionDrivers.drivers.map((driver: { event: string }) => driver.event);
      expect(names).not.toContain('Billing Viewed');
      expect(names).not.toContain('Order Completed');
      expect(rest.find((driver: { event: string }) => driver.event === 'Clicked Around')?.qValue).toBeGreaterThan(0.05);
      // Another app's key is refused.
      const other = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'drivers-other' })).data!.createApp;
      expect((await stack.gql(DRIVERS, range, other.apiKey)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    },
  );
});
