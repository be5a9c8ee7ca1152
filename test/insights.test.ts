/**
 * Insights against hand-computed histories: segment sizes per bucket, flow and time in segment,
 * conversion by path, reason and cohort, the settings preview (what the pure rules say, and what
 * the workflows then do), a trial's timeline, the CSV export; tenancy on each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analytics } from '@segment/analytics-node';
import { decideSegment, DEFAULT_SEGMENT_SETTINGS } from '../src/core/segment-rules.ts';
import { csvCell } from '../src/core/csv.ts';
import { bucketOf, bucketStarts, dwellBinMiddle, dwellBinOf, percentileFromBins, splitByWholeDays } from '../src/core/insights.ts';
import { eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, START_TRIAL, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';
import { seedTrial as seedTrialIn } from './support/seed.ts';

const seedTrial = (appId: string, userId: string, moves: Parameters<typeof seedTrialIn>[3], extra?: Parameters<typeof seedTrialIn>[4]) =>
  seedTrialIn(stack, appId, userId, moves, extra);

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

const newApp = async (name = 'insights') => (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name })).data!.createApp;

const SIZES = `query($a: ID!, $from: DateTime!, $to: DateTime!, $b: InsightBucket) { segmentSizes(appId: $a, from: $from, to: $to, bucket: $b) { start counts { key trials } } }`;
/** A bucket's non-zero counts. */
const nonZero = (bucket: { counts: Array<{ key: string; trials: number }> }) =>
  Object.fromEntries(bucket.counts.filter((count) => count.trials).map((count) => [count.key, count.trials]));

describe('buckets (pure)', () => {
  it('cut a range at hour, day and Monday week boundaries (UTC), and refuse more than 2,000', () => {
    expect(new Date(bucketOf(Date.parse('2026-11-04T15:30:00Z'), 'week')).toISOString()).toBe('2026-11-02T00:00:00.000Z');
    expect(bucketStarts(Date.parse('2026-11-01T10:00:00Z'), Date.parse('2026-11-03T00:00:00Z'), 'day')).toEqual([
      Date.parse('2026-11-01T00:00:00Z'),
      Date.parse('2026-11-02T00:00:00Z'),
    ]);
    expect(bucketStarts(Date.parse('2026-11-01T10:00:00Z'), Date.parse('2026-11-01T12:00:01Z'), 'hour')).toHaveLength(3);
    expect(bucketStarts(0, 3000 * 3_600_000, 'hour')).toEqual({ error: expect.stringContaining('at most 2000 buckets') });
  });

  it('split a range into the whole UTC days a daily rollup answers and the part-days at its ends', () => {
    const at = (iso: string) => Date.parse(iso);
    expect(splitByWholeDays(at('2026-11-01T00:00:00Z'), at('2026-11-03T00:00:00Z'))).toEqual({
      days: [at('2026-11-01T00:00:00Z'), at('2026-11-03T00:00:00Z')],
      edges: [],
    });
    expect(splitByWholeDays(at('2026-11-01T09:00:00Z'), at('2026-11-03T00:00:01Z'))).toEqual({
      days: [at('2026-11-02T00:00:00Z'), at('2026-11-03T00:00:00Z')],
      edges: [
        [at('2026-11-01T09:00:00Z'), at('2026-11-02T00:00:00Z')],
        [at('2026-11-03T00:00:00Z'), at('2026-11-03T00:00:01Z')],
      ],
    });
    // Within one day, or across one midnight without a whole day: all row by row, once.
    expect(splitByWholeDays(at('2026-11-01T09:00:00Z'), at('2026-11-01T11:00:00Z'))).toEqual({
      days: null,
      edges: [[at('2026-11-01T09:00:00Z'), at('2026-11-01T11:00:00Z')]],
    });
    expect(splitByWholeDays(at('2026-11-01T09:00:00Z'), at('2026-11-02T11:00:00Z'))).toEqual({
      days: null,
      edges: [[at('2026-11-01T09:00:00Z'), at('2026-11-02T11:00:00Z')]],
    });
  });

  it('dwell bins: 4 a doubling, each middle within 9 % of a dwell over a minute in it; percentiles at the rank percentile_cont uses', () => {
    for (const seconds of [61, 600, 3600, 49 * 3600, 30 * 86_400]) {
      const middle = dwellBinMiddle(dwellBinOf(seconds));
      expect(Math.abs(middle - seconds) / seconds, String(seconds)).toBeLessThan(0.1);
    }
    expect(dwellBinOf(0)).toBe(0);
    // 10 departures: 9 after about an hour, 1 after about a day.
    const bins = [
      { bin: dwellBinOf(3600), count: 9 },
      { bin: dwellBinOf(86_400), count: 1 },
    ];
    expect(percentileFromBins(bins, 0.5)).toBe(dwellBinMiddle(dwellBinOf(3600)));
    expect(percentileFromBins(bins, 0.9)).toBe(dwellBinMiddle(dwellBinOf(3600)));
    expect(percentileFromBins([...bins, { bin: dwellBinOf(86_400), count: 1 }], 0.95)).toBe(dwellBinMiddle(dwellBinOf(86_400)));
    expect(percentileFromBins([], 0.5)).toBeNull();
  });

  it('CSV cells are quoted when they must be, and never start a formula', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell(null)).toBe('');
  });
});

describe('segment sizes, flow and conversion from a hand-computed history', () => {
  let app: CreatedApp;
  beforeAll(async () => {
    app = await newApp();
    // Ada: exploring (Nov 1 10:00) → gone_quiet (Nov 3 12:00) → found_value (Nov 5 08:00) → converted (Nov 6 09:00).
    await seedTrial(app.app.id, 'ada', [
      ['exploring', 'trial_started', '2026-11-01T10:00:00Z'],
      ['gone_quiet', 'inactivity', '2026-11-03T12:00:00Z'],
      ['found_value', 'aha_event_received', '2026-11-05T08:00:00Z'],
      ['converted', 'converted', '2026-11-06T09:00:00Z'],
    ]);
    // Bob: exploring (Nov 2 00:00) → expired (Nov 4 00:00).
    await seedTrial(app.app.id, 'bob', [
      ['exploring', 'trial_started', '2026-11-02T00:00:00Z'],
      ['expired', 'trial_ended', '2026-11-04T00:00:00Z'],
    ]);
    // Cy: still exploring, started the week after.
    await seedTrial(app.app.id, 'cy', [['exploring', 'trial_started', '2026-11-10T00:00:00Z']]);
    // Another app's history counts nowhere here.
    const other = await newApp('other');
    await seedTrial(other.app.id, 'zed', [['exploring', 'trial_started', '2026-11-01T00:00:00Z']]);
  });

  it('counts each trial in its segment from one move to the next, at the end of each day', async () => {
    const { data, errors } = await stack.gql(SIZES, { a: app.app.id, from: '2026-11-01T00:00:00Z', to: '2026-11-07T00:00:00Z', b: 'day' });
    expect(errors).toBeUndefined();
    expect(data.segmentSizes.map((bucket: { start: string }) => bucket.start)).toEqual(
      ['01', '02', '03', '04', '05', '06'].map((day) => new Date(`2026-11-${day}T00:00:00Z`).toISOString()),
    );
    expect(data.segmentSizes.map(nonZero)).toEqual([
      { exploring: 1 },
      { exploring: 2 },
      { exploring: 1, gone_quiet: 1 },
      { gone_quiet: 1, expired: 1 },
      { found_value: 1, expired: 1 },
      { converted: 1, expired: 1 },
    ]);
    expect(data.segmentSizes[0].counts).toHaveLength(9);
  });

  it('starts a later range from the sizes its first bucket inherits, by the hour and by the week', async () => {
    const hours = (await stack.gql(SIZES, { a: app.app.id, from: '2026-11-03T11:00:00Z', to: '2026-11-03T13:00:00Z', b: 'hour' })).data.segmentSizes;
    expect(hours.map(nonZero)).toEqual([{ exploring: 2 }, { exploring: 1, gone_quiet: 1 }]);
    const weeks = (await stack.gql(SIZES, { a: app.app.id, from: '2026-11-02T00:00:00Z', to: '2026-11-16T00:00:00Z', b: 'week' })).data.segmentSizes;
    // Weeks of Monday Nov 2 and Nov 9, counted at each week's end.
    expect(weeks.map((bucket: { start: string }) => bucket.start)).toEqual(['2026-11-02T00:00:00.000Z', '2026-11-09T00:00:00.000Z']);
    expect(weeks.map(nonZero)).toEqual([
      { converted: 1, expired: 1 },
      { exploring: 1, converted: 1, expired: 1 },
    ]);
  });

  it('flow: from → to counts, and the median and 90th percentile time in each segment before leaving it', async () => {
    const { data } = await stack.gql(
      `query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentFlow(appId: $a, from: $from, to: $to) {
         moves { from to trials } timeInSegment { segment left medianSeconds p90Seconds } } }`,
      { a: app.app.id, from: '2026-11-01T00:00:00Z', to: '2026-11-07T00:00:00Z' },
    );
    expect(data.segmentFlow.moves).toEqual(
      expect.arrayContaining([
        { from: null, to: 'exploring', trials: 2 },
        { from: 'exploring', to: 'gone_quiet', trials: 1 },
        { from: 'exploring', to: 'expired', trials: 1 },
        { from: 'gone_quiet', to: 'found_value', trials: 1 },
        { from: 'found_value', to: 'converted', trials: 1 },
      ]),
    );
    expect(data.segmentFlow.moves).toHaveLength(5);
    // Exploring: Ada 50 h, Bob 48 h; gone quiet: 44 h; found value: 25 h.
    expect(data.segmentFlow.timeInSegment).toEqual([
      { segment: 'exploring', left: 2, medianSeconds: 49 * 3600, p90Seconds: 48 * 3600 + 0.9 * 7200 },
      { segment: 'found_value', left: 1, medianSeconds: 25 * 3600, p90Seconds: 25 * 3600 },
      { segment: 'gone_quiet', left: 1, medianSeconds: 44 * 3600, p90Seconds: 44 * 3600 },
    ]);
  });

  it('what converts: by path, by the reason of the last move before the outcome, by start week, with the counts', async () => {
    const { data, errors } = await stack.gql(
      `query($a: ID!, $from: DateTime!, $to: DateTime!) { conversion(appId: $a, from: $from, to: $to) {
         byPath { path trials converted expired open conversionRate }
         otherPaths { trials }
         byReason { reason trials converted expired open conversionRate }
         byCohort { weekStart trials converted expired open conversionRate } } }`,
      { a: app.app.id, from: '2026-10-01T00:00:00Z', to: '2026-12-01T00:00:00Z' },
    );
    const c = data?.conversion ?? expect.fail(JSON.stringify(errors));
    expect(c.byPath).toEqual(
      expect.arrayContaining([
        { path: ['exploring'], trials: 2, converted: 0, expired: 1, open: 1, conversionRate: 0 },
        { path: ['exploring', 'gone_quiet', 'found_value'], trials: 1, converted: 1, expired: 0, open: 0, conversionRate: 1 },
      ]),
    );
    expect(c.byPath).toHaveLength(2);
    expect(c.otherPaths).toBeNull();
    expect(c.byReason).toEqual(
      expect.arrayContaining([
        { reason: 'trial_started', trials: 2, converted: 0, expired: 1, open: 1, conversionRate: 0 },
        { reason: 'aha_event_received', trials: 1, converted: 1, expired: 0, open: 0, conversionRate: 1 },
      ]),
    );
    expect(c.byCohort).toEqual([
      { weekStart: '2026-10-26T00:00:00.000Z', trials: 1, converted: 1, expired: 0, open: 0, conversionRate: 1 },
      { weekStart: '2026-11-02T00:00:00.000Z', trials: 1, converted: 0, expired: 1, open: 0, conversionRate: 0 },
      { weekStart: '2026-11-09T00:00:00.000Z', trials: 1, converted: 0, expired: 0, open: 1, conversionRate: null },
    ]);
  });

  it('conversion counts the part-days at the ends of a range from the trials and its whole days from the rollup', async () => {
    const trialsIn = async (from: string, to: string) => {
      const { data, errors } = await stack.gql(
        `query($a: ID!, $from: DateTime!, $to: DateTime!) { conversion(appId: $a, from: $from, to: $to) { byPath { path trials } byCohort { trials } } }`,
        { a: app.app.id, from, to },
      );
      expect(errors).toBeUndefined();
      const byPath = (data.conversion.byPath as Array<{ trials: number }>).reduce((sum, row) => sum + row.trials, 0);
      expect((data.conversion.byCohort as Array<{ trials: number }>).reduce((sum, row) => sum + row.trials, 0)).toBe(byPath);
      return byPath;
    };
    // Ada started Nov 1 10:00 (a part-day), Bob Nov 2 00:00 (a whole day), Cy Nov 10 00:00 (the last part-day).
    expect(await trialsIn('2026-11-01T09:00:00Z', '2026-11-10T00:00:01Z')).toBe(3);
    expect(await trialsIn('2026-11-01T10:00:01Z', '2026-11-10T00:00:00Z')).toBe(1);
    expect(await trialsIn('2026-11-01T09:59:59Z', '2026-11-01T10:00:01Z')).toBe(1);
    expect(await trialsIn('2026-11-01T10:00:01Z', '2026-11-02T00:00:01Z')).toBe(1);
  });

  it('the finished-trial rollup matches the trials after moves, a late payment, a changed start and an erasure', async () => {
    const fromTrials = `select app_id, case when account_id is null then 'user' else 'account' end as kind, (trial_start at time zone 'UTC')::date::text as day,
                               path, coalesce(last_open_reason, '') as reason, segment as outcome, count(*)::int as trials
                          from trials where app_id = $1 and segment in ('converted', 'expired') group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6`;
    const fromRollup = `select app_id, kind, start_day::text as day, path, reason, outcome, trials from finished_trial_counts
                         where app_id = $1 and trials <> 0 order by 1, 2, 3, 4, 5, 6`;
    const scratch = await newApp('rollup');
    await seedTrial(scratch.app.id, 'eve', [
      ['exploring', 'trial_started', '2026-11-01T10:00:00Z'],
      ['expired', 'trial_ended', '2026-11-15T10:00:00Z'],
    ]);
    await seedTrial(scratch.app.id, 'fay', [
      ['exploring', 'trial_started', '2026-11-01T11:00:00Z'],
      ['gone_quiet', 'inactivity', '2026-11-04T11:00:00Z'],
    ]);
    const same = async () => expect(await stack.sql(fromRollup, [scratch.app.id])).toEqual(await stack.sql(fromTrials, [scratch.app.id]));
    await same();
    expect(await stack.sql(fromRollup, [scratch.app.id])).toEqual([expect.objectContaining({ path: 'exploring', outcome: 'expired', trials: 1 })]);
    // A late payment, an open trial's move and its outcome, a moved start, an erasure.
    await stack.sql(`update trials set segment = 'converted' where app_id = $1 and user_id = 'eve'`, [scratch.app.id]);
    await same();
    await stack.sql(`update trials set segment = 'found_value', path = path || '>found_value' where app_id = $1 and user_id = 'fay'`, [scratch.app.id]);
    await same();
    await stack.sql(`update trials set segment = 'expired' where app_id = $1 and user_id = 'fay'`, [scratch.app.id]);
    await stack.sql(`update trials set trial_start = trial_start + interval '1 day' where app_id = $1 and user_id = 'fay'`, [scratch.app.id]);
    await same();
    await stack.sql(`delete from trials where app_id = $1 and user_id = 'eve'`, [scratch.app.id]);
    await same();
    expect(await stack.sql(fromRollup, [scratch.app.id])).toEqual([
      expect.objectContaining({ day: '2026-11-02', path: 'exploring>gone_quiet>found_value', outcome: 'expired', trials: 1 }),
    ]);
    // (Its hand-made path, which no recorded move explains, goes too: the rollup test below checks every trial's path.)
    await stack.sql(`delete from trials where app_id = $1`, [scratch.app.id]);
    expect(await stack.sql(fromRollup, [scratch.app.id])).toEqual([]);
  });

  it('refuses a bad range with a clear 4xx-style error, and another app key', async () => {
    const backwards = await stack.gql(SIZES, { a: app.app.id, from: '2026-11-07T00:00:00Z', to: '2026-11-01T00:00:00Z' });
    expect(backwards.errors?.[0]).toMatchObject({ message: 'to must be after from', extensions: { code: 'BAD_USER_INPUT' } });
    const tooMany = await stack.gql(SIZES, { a: app.app.id, from: '2026-01-01T00:00:00Z', to: '2026-12-01T00:00:00Z', b: 'hour' });
    expect(tooMany.errors?.[0]?.message).toContain('at most 2000 buckets');
    const other = await newApp('stranger');
    for (const query of [
      `query($a: ID!) { segmentSizes(appId: $a, from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z") { start } }`,
      `query($a: ID!) { segmentFlow(appId: $a, from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z") { moves { trials } } }`,
      `query($a: ID!) { conversion(appId: $a, from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z") { byCohort { trials } } }`,
      `query($a: ID!) { previewSegmentSettings(input: { appId: $a, inactivityAfter: "PT1H" }) { evaluated } }`,
    ]) {
      expect((await stack.gql(query, { a: app.app.id }, other.apiKey)).errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect((await stack.gql(query, { a: app.app.id }, null)).errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
    }
  });
});

describe('insights per kind of trial: people, accounts, or both', () => {
  it("sizes, flow and conversion read people's trials, accounts' or both", async () => {
    const app = await newApp('kinds');
    await seedTrial(app.app.id, 'pat', [
      ['exploring', 'trial_started', '2026-11-01T10:00:00Z'],
      ['converted', 'converted', '2026-11-02T10:00:00Z'],
    ]);
    await seedTrial(
      app.app.id,
      'acme',
      [
        ['exploring', 'trial_started', '2026-11-01T12:00:00Z'],
        ['found_value', 'aha_event_received', '2026-11-03T12:00:00Z'],
      ],
      { account: true },
    );
    const range = { a: app.app.id, from: '2026-11-01T00:00:00Z', to: '2026-11-05T00:00:00Z' };
    const KINDS = `query($a: ID!, $from: DateTime!, $to: DateTime!, $k: TrialKind) {
      segmentSizes(appId: $a, from: $from, to: $to, bucket: day, kind: $k) { counts { key trials } }
      segmentFlow(appId: $a, from: $from, to: $to, kind: $k) { moves { from to trials } timeInSegment { segment left } }
      conversion(appId: $a, from: $from, to: $to, kind: $k) { byPath { path trials converted } } }`;
    const read = async (k: string | null) => {
      const { data, errors } = await stack.gql(KINDS, { ...range, k });
      expect(errors).toBeUndefined();
      return {
        lastDay: nonZero(data.segmentSizes.at(-1)),
        moves: data.segmentFlow.moves.map((move: { from: string | null; to: string }) => `${move.from}>${move.to}`).sort(),
        left: data.segmentFlow.timeInSegment,
        paths: data.conversion.byPath,
      };
    };
    expect(await read('user')).toEqual({
      lastDay: { converted: 1 },
      moves: ['exploring>converted', 'null>exploring'],
      left: [{ segment: 'exploring', left: 1 }],
      paths: [{ path: ['exploring'], trials: 1, converted: 1 }],
    });
    expect(await read('account')).toEqual({
      lastDay: { found_value: 1 },
      moves: ['exploring>found_value', 'null>exploring'],
      left: [{ segment: 'exploring', left: 1 }],
      paths: [{ path: ['exploring', 'found_value'], trials: 1, converted: 0 }],
    });
    const both = await read(null);
    expect(both.lastDay).toEqual({ converted: 1, found_value: 1 });
    expect(both.left).toEqual([{ segment: 'exploring', left: 2 }]);
    expect(both.paths).toHaveLength(2);
  });
});

const PREVIEW = `query($i: UpdateSegmentSettingsInput!) { previewSegmentSettings(input: $i) { evaluated unchanged moves { from to trials sample } errors { field message } } }`;

describe('settings preview', () => {
  it("a new aha event already done by an open trial: the preview moves it to found value, and saving does (the signal queue's one click)", async () => {
    const app = await newApp('aha-after');
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'did-it', trialEnd: '2099-01-01T00:00:00Z' } });
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId: 'did-not', trialEnd: '2099-01-01T00:00:00Z' } });
    const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
    analytics.track({ userId: 'did-it', event: 'Invited Teammate' });
    analytics.track({ userId: 'did-not', event: 'Clicked' });
    await analytics.closeAndFlush();
    const segmentOf = async (userId: string) =>
      (await stack.gql(`query($a: ID!, $u: String) { trial(appId: $a, userId: $u) { segment } }`, { a: app.app.id, u: userId })).data.trial?.segment;
    await eventually(async () => ((await segmentOf('did-it')) === 'exploring' && (await segmentOf('did-not')) === 'exploring' ? true : undefined));

    const { data } = await stack.gql(PREVIEW, { i: { appId: app.app.id, ahaEvents: ['Invited Teammate'] } });
    expect(data.previewSegmentSettings).toMatchObject({
      evaluated: 2,
      unchanged: 1,
      moves: [{ from: 'exploring', to: 'found_value', trials: 1, sample: ['did-it'] }],
    });
    // The preview saved nothing.
    expect((await stack.gql(`query($a: ID!) { segmentSettings(appId: $a) { ahaEvents } }`, { a: app.app.id })).data.segmentSettings.ahaEvents).not.toContain(
      'Invited Teammate',
    );

    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, ahaEvents: ['Invited Teammate'] },
    });
    await eventually(async () => ((await segmentOf('did-it')) === 'found_value' ? true : undefined), 20_000);
    expect(await segmentOf('did-not')).toBe('exploring');
  });

  it('moves exactly the open trials the pure rules say, changes nothing, and names a bad field', async () => {
    const app = await newApp('preview');
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const hour = 3_600_000;
    const facts = [
      // Active 2 h ago: quiet under a 1-hour window.
      { userId: 'two-hours', segment: 'exploring', lastActivityAt: ago(2 * hour), ahaReachedAt: null },
      { userId: 'just-now', segment: 'exploring', lastActivityAt: ago(60_000), ahaReachedAt: null },
      { userId: 'aha-quiet', segment: 'found_value', lastActivityAt: ago(5 * hour), ahaReachedAt: ago(6 * hour) },
      // No stored activity: its creation (the workflow's start) counts.
      { userId: 'no-events', segment: 'exploring', lastActivityAt: null, ahaReachedAt: null, createdAt: ago(3 * hour) },
    ];
    for (const fact of facts) {
      await seedTrial(app.app.id, fact.userId, [[fact.segment, 'trial_started', fact.createdAt ?? ago(10 * hour)]], {
        lastActivityAt: fact.lastActivityAt,
        ahaReachedAt: fact.ahaReachedAt,
        createdAt: fact.createdAt ?? ago(10 * hour),
      });
    }
    await seedTrial(app.app.id, 'done', [
      ['exploring', 'trial_started', ago(10 * hour)],
      ['converted', 'converted', ago(9 * hour)],
    ]);
    const { data } = await stack.gql(PREVIEW, { i: { appId: app.app.id, inactivityAfter: 'PT1H' } });
    const preview = data.previewSegmentSettings;
    expect(preview.errors).toEqual([]);
    expect(preview.evaluated).toBe(4);
    const settings = { ...DEFAULT_SEGMENT_SETTINGS, inactivityAfterMs: hour };
    // What the pure rules say, trial by trial.
    const expected = facts
      .map((fact) => ({
        userId: fact.userId,
        from: fact.segment,
        to: decideSegment(
          {
            converted: false,
            ahaReached: fact.ahaReachedAt !== null,
            lastActivityAt: Math.max(Date.parse(fact.createdAt ?? ago(10 * hour)), fact.lastActivityAt ? Date.parse(fact.lastActivityAt) : 0),
            trialEnd: Date.parse('2099-01-01T00:00:00Z'),
          },
          now,
          settings,
        ),
      }))
      .filter((move) => move.to !== move.from);
    expect(expected.map((move) => move.userId).sort()).toEqual(['aha-quiet', 'no-events', 'two-hours']);
    const moved = preview.moves.flatMap((move: { from: string; to: string; sample: string[] }) =>
      move.sample.map((userId) => ({ userId, from: move.from, to: move.to })),
    );
    expect(moved.sort((a: { userId: string }, b: { userId: string }) => a.userId.localeCompare(b.userId))).toEqual(
      expected.sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    expect(preview.unchanged).toBe(1);
    // Nothing was saved or signalled.
    expect((await stack.gql(`query($a: ID!) { segmentSettings(appId: $a) { inactivityAfter } }`, { a: app.app.id })).data.segmentSettings.inactivityAfter).toBe(
      'P3D',
    );
    expect(await stack.count(`select count(*) as n from segment_changes where app_id = $1`, [app.app.id])).toBe(6);

    const refused = await stack.gql(PREVIEW, { i: { appId: app.app.id, endingSoonBefore: 'PT1H', lastChanceBefore: 'P1D' } });
    expect(refused.data.previewSegmentSettings.errors).toEqual([
      { field: 'lastChanceBefore', message: 'lastChanceBefore must not be longer than endingSoonBefore' },
    ]);
  });

  it('says what the workflows then do: the trials it names are the ones that move once the settings are saved', { timeout: 90_000 }, async () => {
    const app = await newApp('preview-live');
    const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 20, maxRetries: 0 });
    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
    });
    for (const userId of ['quiet-one', 'quiet-aha', 'busy']) {
      await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } });
    }
    analytics.track({ userId: 'quiet-aha', event: 'Report Viewed' });
    await analytics.closeAndFlush();
    const segmentOf = async (userId: string) =>
      (await stack.gql(`query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { segment } }`, { a: app.app.id, u: userId })).data.trial.segment;
    await eventually(async () => ((await segmentOf('quiet-aha')) === 'found_value' && (await segmentOf('busy')) === 'exploring' ? true : undefined), 20_000);
    // Time passes; busy keeps being active (its activity only touches the trials table, as most events do).
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const busy = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
    busy.track({ userId: 'busy', event: 'Clicked' });
    await busy.closeAndFlush();
    await eventually(async () =>
      (await stack.count(`select count(*) as n from events where app_id = $1 and event = 'Clicked'`, [app.app.id])) ? true : undefined,
    );

    const input = { appId: app.app.id, inactivityAfter: 'PT5S' };
    const preview = (await stack.gql(PREVIEW, { i: input })).data.previewSegmentSettings;
    const predicted = Object.fromEntries(preview.moves.flatMap((move: { to: string; sample: string[] }) => move.sample.map((userId) => [userId, move.to])));
    expect(predicted).toEqual({ 'quiet-one': 'gone_quiet', 'quiet-aha': 'needs_nudge' });
    await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, { i: input });
    await eventually(
      async () => ((await segmentOf('quiet-one')) === 'gone_quiet' && (await segmentOf('quiet-aha')) === 'needs_nudge' ? true : undefined),
      20_000,
    );
    // Busy's workflow read the stored activity before deciding, as the preview did: it did not move on the
    // settings change, only (if the test ran that long) 5 s after its last click.
    const early = await stack.sql(
      `select count(*)::int as n from segment_changes sc join trials t on t.id = sc.trial_id
        where t.app_id = $1 and t.user_id = 'busy' and sc.sequence > 1
          and sc.occurred_at < (select received_at from events where app_id = $1 and event = 'Clicked') + interval '5 seconds'`,
      [app.app.id],
    );
    expect(early[0].n).toBe(0);
  });
});

describe("a trial's timeline", () => {
  it('its events newest first, each move with the event before it and the webhooks it caused with their attempts', { timeout: 60_000 }, async () => {
    const app = await newApp('timeline');
    const hook = await new Receiver().start();
    try {
      hook.script({ status: 500 });
      await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url, description: 'HubSpot', retrySchedule: ['PT0S', 'PT1S'] } });
      await stack.gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
        i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
      });
      const analytics = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
      analytics.identify({ userId: 'tim', traits: { email: 'tim@example.com', trial_end: '2099-01-01T00:00:00Z' } });
      await analytics.closeAndFlush();
      const TIMELINE = `query($a: ID!, $u: String!, $after: String) { trial(appId: $a, userId: $u) {
        events(first: 2, after: $after) { edges { node { type event properties timestamp } } pageInfo { hasNextPage endCursor } }
        changes { newSegment reason lastEventBefore { type event } deliveries { status endpoint { description } attempts { statusCode } } } } }`;
      const segmentOf = async () => (await stack.gql(`query($a: ID!) { trial(appId: $a, userId: "tim") { segment } }`, { a: app.app.id })).data.trial?.segment;
      await eventually(async () => ((await segmentOf()) === 'exploring' ? true : undefined), 20_000);
      const more = new Analytics({ writeKey: app.writeKey, host: stack.url, flushAt: 1, maxRetries: 0 });
      more.track({ userId: 'tim', event: 'Clicked', properties: { button: 'export' } });
      // A second call, a moment later (its own timestamp), as a user clicks on.
      await new Promise((resolve) => setTimeout(resolve, 20));
      more.track({ userId: 'tim', event: 'Report Viewed' });
      await more.closeAndFlush();
      // The first move's webhook failed once, then was delivered; the second's was delivered at once.
      const trial = await eventually(async () => {
        const { data } = await stack.gql(TIMELINE, { a: app.app.id, u: 'tim' });
        const changes = data.trial.changes;
        return changes.length === 2 && changes.every((change: { deliveries: Array<{ status: string }> }) => change.deliveries[0]?.status === 'delivered')
          ? data.trial
          : undefined;
      }, 30_000);
      expect(trial.changes).toEqual([
        {
          newSegment: 'exploring',
          reason: 'trial_started',
          lastEventBefore: { type: 'identify', event: null },
          deliveries: [{ status: 'delivered', endpoint: { description: 'HubSpot' }, attempts: [{ statusCode: 500 }, { statusCode: 200 }] }],
        },
        {
          newSegment: 'found_value',
          reason: expect.stringContaining('aha'),
          lastEventBefore: { type: 'track', event: 'Report Viewed' },
          deliveries: [{ status: 'delivered', endpoint: { description: 'HubSpot' }, attempts: [{ statusCode: 200 }] }],
        },
      ]);
      // Events, newest first, two a page.
      expect(trial.events.edges.map((edge: { node: { event: string | null } }) => edge.node.event)).toEqual(['Report Viewed', 'Clicked']);
      expect(JSON.parse(trial.events.edges[1].node.properties)).toEqual({ button: 'export' });
      expect(trial.events.pageInfo.hasNextPage).toBe(true);
      const next = (await stack.gql(TIMELINE, { a: app.app.id, u: 'tim', after: trial.events.pageInfo.endCursor })).data.trial.events;
      expect(next.edges.map((edge: { node: { type: string } }) => edge.node.type)).toEqual(['identify']);
      expect(next.pageInfo.hasNextPage).toBe(false);
    } finally {
      await hook.stop();
    }
  });
});

describe('CSV export', () => {
  it('streams the trials of a segment or a search, with the reason of each one’s segment; 401, 403 and 400 said plainly', async () => {
    const app = await newApp('export');
    await seedTrial(app.app.id, 'ann', [['exploring', 'trial_started', '2026-11-01T00:00:00Z']]);
    await seedTrial(app.app.id, '=cmd', [
      ['exploring', 'trial_started', '2026-11-01T00:00:00Z'],
      ['gone_quiet', 'inactivity', '2026-11-04T00:00:00Z'],
    ]);
    await seedTrial(app.app.id, 'annex-co', [['exploring', 'trial_started', '2026-11-02T00:00:00Z']], { account: true });
    const get = (query: string, token: string | null = app.apiKey) =>
      fetch(`${stack.url}/export/trials.csv?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const all = await get(`appId=${app.app.id}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(all.headers.get('content-disposition')).toBe(`attachment; filename="trials-${app.app.id}.csv"`);
    const lines = (await all.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('user_id,email,segment,segment_since,reason,trial_start,trial_end,last_activity_at,stripe_customer_id,account_id');
    expect(lines.slice(1)).toEqual([
      "'=cmd,'=cmd@example.com,gone_quiet,2026-11-04T00:00:00.000Z,inactivity,2026-11-01T00:00:00.000Z,2099-01-01T00:00:00.000Z,,,",
      'ann,ann@example.com,exploring,2026-11-01T00:00:00.000Z,trial_started,2026-11-01T00:00:00.000Z,2099-01-01T00:00:00.000Z,,,',
      ',,exploring,2026-11-02T00:00:00.000Z,trial_started,2026-11-02T00:00:00.000Z,2099-01-01T00:00:00.000Z,,,annex-co',
    ]);
    const quiet = (await (await get(`appId=${app.app.id}&segment=gone_quiet`)).text()).trimEnd().split('\r\n');
    expect(quiet).toHaveLength(2);
    const searched = (await (await get(`appId=${app.app.id}&search=AN`)).text()).trimEnd().split('\r\n');
    expect(searched.slice(1).map((line) => line.split(',')[0] || line.split(',').at(-1))).toEqual(['ann', 'annex-co']);

    expect((await get(`appId=${app.app.id}`, null)).status).toBe(401);
    const other = await newApp('export-other');
    expect((await get(`appId=${app.app.id}`, other.apiKey)).status).toBe(403);
    const bad = await get(`appId=${app.app.id}&segment=nope`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toContain('segment "nope" is not a segment key');
    expect((await get('')).status).toBe(400);
  });
});

describe('the rollups the database keeps', () => {
  it('equal the recorded moves, trial paths included, after real transitions and a deleted trial', { timeout: 60_000 }, async () => {
    const app = await newApp('rollup');
    for (const userId of ['r1', 'r2']) await stack.gql(START_TRIAL, { input: { appId: app.app.id, userId, trialEnd: '2099-01-01T00:00:00Z' } });
    // An account's trial beside them: the rollups count it under its own kind.
    await stack.gql(START_TRIAL, { input: { appId: app.app.id, accountId: 'r-co', trialEnd: '2099-01-01T00:00:00Z' } });
    await eventually(
      async () => ((await stack.count(`select count(*) as n from segment_changes where app_id = $1`, [app.app.id])) === 3 ? true : undefined),
      20_000,
    );
    await stack.gql(`mutation($i: ConvertTrialInput!) { convertTrial(input: $i) { errors { message } } }`, { i: { appId: app.app.id, userId: 'r1' } });
    const deleted = await stack.gql(`mutation($i: DeleteTrialInput!) { deleteTrial(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, userId: 'r2' },
    });
    expect(deleted.data.deleteTrial.errors).toEqual([]);
    await eventually(
      async () => ((await stack.count(`select count(*) as n from segment_changes where app_id = $1`, [app.app.id])) === 3 ? true : undefined),
      20_000,
    );
    // Every app of this test file: the hourly counts are exactly the recorded moves, per kind of trial.
    const raw = await stack.sql(
      `select sc.app_id, date_trunc('hour', sc.occurred_at, 'UTC') as hour, case when t.account_id is null then 'user' else 'account' end as kind,
              coalesce(sc.old_segment, '') as old_segment, sc.new_segment, count(*)::int as moves
         from segment_changes sc join trials t on t.id = sc.trial_id group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
    );
    const rolled = await stack.sql(
      `select app_id, hour, kind, old_segment, new_segment, moves from segment_move_hours where moves <> 0 order by 1, 2, 3, 4, 5`,
    );
    expect(rolled).toEqual(raw);
    expect(
      rolled
        .filter((row: { kind: string; app_id: string }) => row.app_id === app.app.id)
        .map((row: { kind: string }) => row.kind)
        .sort(),
    ).toEqual(['account', 'user', 'user']);
    const paths = await stack.sql(
      `select t.id, t.path, coalesce(string_agg(sc.new_segment, '>' order by sc.sequence) filter (where sc.new_segment not in ('converted', 'expired')), '') as expected
         from trials t left join segment_changes sc on sc.trial_id = t.id group by t.id, t.path having t.path <> coalesce(string_agg(sc.new_segment, '>' order by sc.sequence) filter (where sc.new_segment not in ('converted', 'expired')), '')`,
    );
    expect(paths).toEqual([]);
    // Conversion's finished-trial counts: every finished trial once, under its start day, kind, path, reason and outcome.
    const starts = await stack.sql(
      `select app_id, case when account_id is null then 'user' else 'account' end as kind, (trial_start at time zone 'UTC')::date::text as day, path,
              coalesce(last_open_reason, '') as reason, segment as outcome, count(*)::int as trials
         from trials where segment in ('converted', 'expired') group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6`,
    );
    expect(
      await stack.sql(
        `select app_id, kind, start_day::text as day, path, reason, outcome, trials from finished_trial_counts where trials <> 0 order by 1, 2, 3, 4, 5, 6`,
      ),
    ).toEqual(starts);
    expect(starts.filter((row: { app_id: string }) => row.app_id === app.app.id).map((row: { outcome: string }) => row.outcome)).toEqual(['converted']);
    // The dwell bins are the moves' own dwells, binned as the pure function bins them.
    const dwells = await stack.sql(
      `select app_id, date_trunc('hour', occurred_at, 'UTC') as hour, trial_kind as kind, old_segment as segment, dwell_seconds from segment_changes where dwell_seconds is not null`,
    );
    const expectedBins = new Map<string, number>();
    for (const row of dwells) {
      const key = `${row.app_id}|${new Date(row.hour).toISOString()}|${row.kind}|${row.segment}|${dwellBinOf(row.dwell_seconds)}`;
      expectedBins.set(key, (expectedBins.get(key) ?? 0) + 1);
    }
    const storedBins = await stack.sql(`select app_id, hour, kind, segment, bin, departures from segment_dwell_hours where departures <> 0`);
    expect(
      new Map(storedBins.map((row) => [`${row.app_id}|${new Date(row.hour).toISOString()}|${row.kind}|${row.segment}|${row.bin}`, row.departures])),
    ).toEqual(expectedBins);
    expect(await stack.sql(`select path, last_open_reason from trials where app_id = $1 order by user_id`, [app.app.id])).toEqual([
      { path: 'exploring', last_open_reason: 'trial_started' },
      { path: 'exploring', last_open_reason: 'trial_started' },
    ]);
  });
});
