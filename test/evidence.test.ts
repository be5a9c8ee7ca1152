/**
 * Evidence: conversion drivers ranked by the pure core on simulated counts (a planted driver
 * first; under no effect, the false-discovery rate held over 100 simulated apps), and end to
 * end through the real ingest, workflows and outcome rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_GROUP, rankDrivers, type EventOutcomes } from '../src/core/conversion-drivers.ts';
import { holdoutPosition, isHeldOut } from '../src/modules/webhooks/holdouts.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Receiver } from './support/receiver.ts';
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

describe('holdout assignment', () => {
  it('over 100,000 trials of three id shapes, each shape held out within 1 point of the percent asked, and two experiments independent', () => {
    const shapes = {
      sequential: (i: number) => `trl_${i}`,
      random: (i: number) => `trl_${(i * 2654435761).toString(36)}${(i * 40503).toString(16)}`,
      padded: (i: number) => `trl_mqx${String(i).padStart(12, '0')}`,
    };
    const perShape = 100_000 / 3;
    for (const percent of [5, 30, 50]) {
      for (const [shape, idOf] of Object.entries(shapes)) {
        let held = 0;
        for (let i = 0; i < perShape; i++) if (isHeldOut('hx_a', idOf(i), percent)) held++;
        expect(Math.abs(held / perShape - percent / 100), `${shape} at ${percent} %`).toBeLessThan(0.01);
      }
    }
    // The same trial in two experiments: held out of both as often as chance says (0.3 × 0.3).
    let both = 0;
    for (let i = 0; i < 100_000; i++) if (isHeldOut('hx_a', `trl_${i}`, 30) && isHeldOut('hx_b', `trl_${i}`, 30)) both++;
    expect(Math.abs(both / 100_000 - 0.09)).toBeLessThan(0.01);
    // Stable: the same answer every time, in [0, 1).
    expect(holdoutPosition('hx_a', 'trl_1')).toBe(holdoutPosition('hx_a', 'trl_1'));
    expect(holdoutPosition('hx_a', 'trl_1')).toBeGreaterThanOrEqual(0);
    expect(holdoutPosition('hx_a', 'trl_1')).toBeLessThan(1);
  });
});

describe('with a running Trialcast', () => {
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

  const HOLDOUT_REPORT = /* GraphQL */ `
    query ($e: ID!) {
      holdoutReport(endpointId: $e) {
        experiment {
          id
          percent
          running
        }
        exposed {
          trials
          converted
          expired
          open
          conversionRate
        }
        heldOut {
          trials
          converted
          expired
          open
          conversionRate
        }
        difference
        low
        high
        pValue
        relativeLift
        neededPerGroup
        enoughData
        verdict
      }
    }
  `;
  const START_HOLDOUT = `mutation($i: StartHoldoutInput!) { startHoldout(input: $i) { experiment { id percent running } errors { field message code } } }`;
  const STOP_HOLDOUT = `mutation($i: StopHoldoutInput!) { stopHoldout(input: $i) { experiment { id running } errors { code } } }`;

  it(
    'a 30 % holdout on a nudging endpoint: held-out trials are never sent to (recorded with their bodies), other endpoints get every move, and the report covers the true lift of 0.3',
    { timeout: 240_000 },
    async () => {
      const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'holdout' })).data!.createApp;
      // The nudging endpoint: of the trials it hears about, 4 in 10 convert (the first move of each, in arrival order).
      const nudged = new Map<string, boolean>();
      const nudger = createServer((req, res) => {
        let raw = '';
        req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
        req.on('end', () => {
          res.writeHead(200).end();
          const userId = JSON.parse(raw).trial?.user_id as string | undefined;
          if (!userId || nudged.has(userId)) return;
          const converts = nudged.size % 10 < 4;
          nudged.set(userId, converts);
          if (converts) void stack.gql(CONVERT_TRIAL, { input: { appId: app.app.id, userId } });
        });
      });
      await new Promise<void>((resolve) => nudger.listen(0, '127.0.0.1', resolve));
      const everyMove = await new Receiver().start();
      try {
        const create = async (url: string) =>
          (
            await stack.gql(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } errors { message } } }`, {
              i: { appId: app.app.id, url },
            })
          ).data.createWebhookEndpoint.endpoint.id as string;
        const endpointId = await create(`http://127.0.0.1:${(nudger.address() as AddressInfo).port}/nudge`);
        await create(everyMove.url);

        expect((await stack.gql(START_HOLDOUT, { i: { endpointId, percent: 60 } })).data.startHoldout.errors[0]).toMatchObject({
          field: 'percent',
          code: 'INVALID',
        });
        const started = (await stack.gql(START_HOLDOUT, { i: { endpointId, percent: 30 } })).data.startHoldout;
        expect(started).toMatchObject({ experiment: { percent: 30, running: true }, errors: [] });
        // Locked while it runs.
        expect((await stack.gql(START_HOLDOUT, { i: { endpointId, percent: 10 } })).data.startHoldout.errors[0].code).toBe('HOLDOUT_RUNNING');

        const users = Array.from({ length: 300 }, (_, index) => `hold-${index}`);
        const ends = new Date(Date.now() + 30_000).toISOString();
        for (let i = 0; i < users.length; i += 50) {
          await Promise.all(users.slice(i, i + 50).map((userId) => stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: ends } })));
        }
        const experimentId = started.experiment.id;
        await eventually(
          async () =>
            (await stack.count(`select count(*) as n from holdout_assignments where experiment_id = $1`, [experimentId])) === 300 ? true : undefined,
          60_000,
        );
        const heldOut: string[] = (
          await stack.sql(
            `select t.user_id from holdout_assignments a join trials t on t.id = a.trial_id where a.experiment_id = $1 and a.held_out order by t.user_id`,
            [experimentId],
          )
        ).map((row: { user_id: string }) => row.user_id);
        // Without a nudge, 1 in 10 converts anyway.
        await Promise.all(heldOut.filter((_, index) => index % 10 === 0).map((userId) => stack.gql(CONVERT_TRIAL, { input: { appId: app.app.id, userId } })));

        // Everyone finishes: the rest expire at their trial end.
        await eventually(
          async () =>
            (await stack.count(`select count(*) as n from trials where app_id = $1 and segment in ('converted', 'expired')`, [app.app.id])) === 300
              ? true
              : undefined,
          90_000,
        );
        // No held-out trial's webhook reached the nudging endpoint; the other endpoint heard every trial.
        expect(heldOut.filter((userId) => nudged.has(userId))).toEqual([]);
        expect(nudged.size).toBe(300 - heldOut.length);
        const heardByOther = new Set(everyMove.requests.map(({ body }) => JSON.parse(body).trial.user_id));
        expect(users.filter((userId) => !heardByOther.has(userId))).toEqual([]);
        // Held-out deliveries are in the log, with the body that would have gone, and cannot be redelivered.
        const held = (
          await stack.gql(`query($e: ID!) { deliveries(endpointId: $e, status: held_out, first: 100) { edges { node { id status payload attemptCount } } } }`, {
            e: endpointId,
          })
        ).data.deliveries.edges.map(({ node }: { node: { id: string; status: string; payload: string; attemptCount: number } }) => ({
          ...node,
          userId: JSON.parse(node.payload).trial.user_id as string,
        }));
        expect(held.length).toBeGreaterThan(0);
        for (const node of held) expect(node).toMatchObject({ status: 'held_out', attemptCount: 0, userId: expect.toBeOneOf(heldOut) });
        const redelivered = await stack.gql(`mutation($id: ID!) { redeliver(deliveryId: $id) { errors { code } } }`, { id: held[0].id });
        expect(redelivered.data.redeliver.errors).toEqual([{ code: 'HELD_OUT' }]);

        const { holdoutReport } = (await stack.gql(HOLDOUT_REPORT, { e: endpointId })).data;
        expect(holdoutReport.exposed.trials + holdoutReport.heldOut.trials).toBe(300);
        expect(holdoutReport.heldOut.trials / 300).toBeGreaterThan(0.2);
        expect(holdoutReport.heldOut.trials / 300).toBeLessThan(0.4);
        expect(holdoutReport.exposed.open + holdoutReport.heldOut.open).toBe(0);
        expect(holdoutReport.low).toBeLessThanOrEqual(0.3);
        expect(holdoutReport.high).toBeGreaterThanOrEqual(0.3);
        expect(holdoutReport.low).toBeGreaterThan(0);
        expect(holdoutReport.pValue).toBeLessThan(0.05);
        expect(holdoutReport.verdict).toMatch(/^(Sending raises conversion by|Not enough data yet)/);

        // Stopped, the report stays; a new holdout is a new experiment.
        expect((await stack.gql(STOP_HOLDOUT, { i: { endpointId } })).data.stopHoldout).toMatchObject({
          experiment: { id: experimentId, running: false },
          errors: [],
        });
        expect((await stack.gql(HOLDOUT_REPORT, { e: endpointId })).data.holdoutReport.experiment).toMatchObject({ id: experimentId, running: false });
        const again = (await stack.gql(START_HOLDOUT, { i: { endpointId, percent: 10 } })).data.startHoldout.experiment;
        expect(again.id).not.toBe(experimentId);
        expect((await stack.gql(HOLDOUT_REPORT, { e: endpointId })).data.holdoutReport).toMatchObject({
          experiment: { id: again.id },
          exposed: { trials: 0 },
          difference: null,
        });
      } finally {
        nudger.close();
        await everyMove.stop();
      }
    },
  );
});
