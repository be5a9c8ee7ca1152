import pg from 'pg';
import { DEFAULT_WORKFLOW_CACHE_SIZE } from '../../src/config.ts';
import { graphql, newApp, percentile, pool, residentMb, type Product, type Result } from '../support.ts';

/**
 * Many open trial workflows at once, each with its timers (days away), and among them probe
 * trials whose inactivity timers fall due at a steady rate: the lateness (threshold →
 * transition recorded, read from the recorded changes) is what a timer costs under that load.
 */
export async function openTrialsAndTimers({ url, databaseUrl, worker, workerIdleRssMb }: Product): Promise<Result[]> {
  const count = Number(process.env.BENCH_TRIALS ?? 10_000);
  const probes = Number(process.env.BENCH_TIMER_PROBES ?? 300);
  const quietAfterS = Number(process.env.BENCH_QUIET_AFTER_S ?? 60);
  // Waits grow with the load: starts and a rollout both go at tens of trials a second here.
  const longWaitMs = Math.max(1_200_000, count * 120);
  let workerPeakRssMb = residentMb(worker.pid!);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const recorded = async (appId: string, sequence: number) =>
    Number((await db.query('select count(*) as n from segment_changes where app_id = $1 and sequence = $2', [appId, sequence])).rows[0].n);
  const start = async (appId: string, apiKey: string, userId: string) => {
    const response = await graphql(url, apiKey, 'mutation($i: StartTrialInput!) { startTrial(input: $i) { errors { message } } }', {
      i: { appId, userId, trialEnd: '2099-01-01T00:00:00Z' },
    });
    if (response.data?.startTrial?.errors?.length) throw new Error(JSON.stringify(response.data.startTrial.errors));
  };
  const waitFor = async (appId: string, sequence: number, total: number, deadline: number) => {
    let lastReport = Date.now();
    let done = await recorded(appId, sequence);
    while (done < total && Date.now() < deadline) {
      if (Date.now() - lastReport >= 30_000) {
        console.error(`  trials: ${done} of ${total} have recorded change ${sequence}`);
        lastReport = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      workerPeakRssMb = Math.max(workerPeakRssMb, residentMb(worker.pid!));
      done = await recorded(appId, sequence);
    }
    return done;
  };

  // The load: trials that stay open (their inactivity and trial-end timers days away).
  const open = await newApp(url, {});
  const started = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => `open-${i}`),
    50,
    (userId) => start(open.appId, open.apiKey, userId),
  );
  const startSeconds = (performance.now() - started) / 1000;
  const running = await waitFor(open.appId, 1, count, Date.now() + longWaitMs);
  const settledSeconds = (performance.now() - started) / 1000;

  // The probe, among them: trials whose inactivity timer falls due at a steady 10 a second.
  const probe = await newApp(url, { inactivityAfter: `PT${quietAfterS}S` });
  const probeIds = Array.from({ length: probes }, (_, i) => `probe-${i}`);
  const probeStart = performance.now();
  for (const [i, userId] of probeIds.entries()) {
    const due = probeStart + i * 100;
    if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    await start(probe.appId, probe.apiKey, userId);
  }
  const quiet = await waitFor(probe.appId, 2, probes, Date.now() + (quietAfterS + 600) * 1000);
  const { rows } = await db.query(
    `select extract(epoch from (quiet.occurred_at - (first.occurred_at + make_interval(secs => $2)))) * 1000 as lateness
     from segment_changes first join segment_changes quiet on quiet.trial_id = first.trial_id and quiet.sequence = 2
     where first.app_id = $1 and first.sequence = 1`,
    [probe.appId, quietAfterS],
  );
  const stillOpen = Number((await db.query(`select count(*) as n from trials where app_id = $1 and segment = 'exploring'`, [open.appId])).rows[0].n);
  const workerRssMb = residentMb(worker.pid!);
  const openInAll = Number((await db.query(`select count(*) as n from trials where segment is null or segment not in ('converted', 'expired')`)).rows[0].n);

  // A settings change re-evaluates every open trial: a one-second inactivity window sends each
  // of them (last active at its start, minutes ago) to gone_quiet.
  const reevaluating = performance.now();
  const changed = await graphql(url, open.apiKey, 'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }', {
    i: { appId: open.appId, inactivityAfter: 'PT1S' },
  });
  if (changed.data.updateSegmentSettings.errors.length) throw new Error(JSON.stringify(changed.data.updateSegmentSettings.errors));
  const answeredSeconds = (performance.now() - reevaluating) / 1000;
  const moved = await waitFor(open.appId, 2, stillOpen, Date.now() + longWaitMs);
  const reevaluatedSeconds = (performance.now() - reevaluating) / 1000;
  await db.end();
  const lateness = rows.map((row) => Number(row.lateness));
  return [
    {
      name: 'trials.start_per_s',
      value: Math.round(count / settledSeconds),
      unit: 'trials/s',
      note: `${count} trials started through GraphQL startTrial (50 concurrent) until each recorded its first segment: ${Math.round(settledSeconds)} s (the mutations answered in ${Math.round(startSeconds)} s)`,
    },
    {
      name: 'settings.reevaluate.seconds',
      value: Math.round(reevaluatedSeconds * 10) / 10,
      unit: 's',
      note: `updateSegmentSettings on an app with ${stillOpen} open trials (inactivityAfter P3D → PT1S): answered in ${answeredSeconds.toFixed(1)} s; ${moved} of ${stillOpen} moved to gone_quiet`,
    },
    { name: 'settings.reevaluate.moved', value: moved, unit: 'trials', baseline: stillOpen },
    {
      name: 'trials.open',
      value: stillOpen,
      unit: 'workflows',
      note: `${count} started through GraphQL startTrial at ${Math.round(count / startSeconds)}/s (50 concurrent); ${running} had recorded their first segment after ${Math.round(settledSeconds)} s; ${stillOpen} still open at the end`,
    },
    {
      name: 'worker.rss_mb',
      value: Math.round(workerRssMb),
      unit: 'MB',
      note: `the worker process, resident, with ${stillOpen + probes} trials open (WORKFLOW_CACHE_SIZE ${process.env.WORKFLOW_CACHE_SIZE ?? DEFAULT_WORKFLOW_CACHE_SIZE})`,
    },
    {
      name: 'worker.rss_mb.peak',
      value: Math.round(workerPeakRssMb),
      unit: 'MB',
      note: 'the most the worker held at any second of the starts and the rollout (sampled each second)',
    },
    {
      name: 'worker.kb_per_open_trial',
      value: Math.round(((workerRssMb - workerIdleRssMb) * 1024) / openInAll),
      unit: 'KB',
      note: `the worker's resident memory (${Math.round(workerRssMb)} MB) less its ${Math.round(workerIdleRssMb)} MB at start, per trial open in the bench's apps (${openInAll}; the workflow cache holds at most WORKFLOW_CACHE_SIZE of them)`,
    },
    {
      name: 'segment.timer_lateness.p50_ms',
      value: percentile(lateness, 50),
      unit: 'ms',
      note: `${quiet} of ${probes} probe trials' inactivity timers (due at 10/s) among the ${stillOpen} open trials: threshold → transition recorded`,
    },
    { name: 'segment.timer_lateness.p99_ms', value: percentile(lateness, 99), unit: 'ms' },
  ];
}
