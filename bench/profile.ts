/**
 * `BENCH_PROFILE=quick`: every scenario at a smaller size, the whole bench in about a quarter of the full run's time
 * (the same figures and baselines, fewer trials and shorter loads; the full sizes are what README's "Measured here"
 * reports). Imported first by bench/run.ts, so the scenarios read these defaults; a variable set by hand still wins.
 */
const QUICK: Record<string, string> = {
  BENCH_SECONDS: '5',
  BENCH_SUBSCRIBERS: '300',
  BENCH_FANOUT_CHANGES: '20',
  BENCH_INSIGHT_TRIALS: '20000',
  BENCH_FIRST_ATTEMPT_TRIALS: '600',
  BENCH_FORMAT_TRIALS: '150',
  BENCH_DELIVERY_TRIALS: '400',
  BENCH_TRIALS: '2000',
  BENCH_TIMER_PROBES: '100',
  BENCH_LATENCY_USERS: '100',
  BENCH_SCALE_STEPS: '1000000',
};

if (process.env.BENCH_PROFILE === 'quick') {
  for (const [name, value] of Object.entries(QUICK)) process.env[name] ??= value;
} else if (process.env.BENCH_PROFILE && process.env.BENCH_PROFILE !== 'full') {
  throw new Error(`BENCH_PROFILE=${process.env.BENCH_PROFILE}: use quick or full`);
}
