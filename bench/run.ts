/**
 * `npm run bench`: throughput figures on this machine, each beside the bare limit measured
 * in the same run. Prints a table and writes bench/results.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from '../src/infra/net.ts';
import { startRuntime } from '../src/runtime.ts';
import { installTemporalLogging } from '../src/temporal/sdk-logging.ts';
import { deliveryThroughput, firstAttemptLatency } from './scenarios/delivery.ts';
import { subscriptionFanout } from './scenarios/fanout.ts';
import { trialQueryThroughput } from './scenarios/graphql.ts';
import { ingestThroughput } from './scenarios/ingest.ts';
import { insightQueries } from './scenarios/insights.ts';
import { eventToSubscription } from './scenarios/latency.ts';
import { openTrialsAndTimers } from './scenarios/trials.ts';
import type { Result } from './support.ts';

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trialcast-bench-'));
  const logger = createLogger('warn');
  installTemporalLogging(logger);
  const config = {
    ...loadConfig({}),
    dataDir,
    port: 0,
    adminToken: 'tca_bench',
    // The delivery bench's receiver is on loopback.
    webhookAllowPrivateTargets: true,
    temporalDevPort: await freePort(),
    temporalUiPort: await freePort(),
  };
  const runtime = await startRuntime({ role: 'all', config, logger, progress: (line) => console.error(line) });
  const results: Result[] = [];
  try {
    const url = runtime.apiUrl!;
    // BENCH_ONLY=ingest,graphql,latency,fanout,delivery,first-attempt,trials,insights runs a subset.
    const only = new Set((process.env.BENCH_ONLY ?? 'graphql,ingest,latency,fanout,delivery,first-attempt,trials,insights').split(','));
    if (only.has('ingest')) results.push(...(await ingestThroughput(url, runtime.databaseUrl!)));
    if (only.has('graphql')) results.push(...(await trialQueryThroughput(url)));
    if (only.has('latency')) results.push(...(await eventToSubscription(url)));
    if (only.has('fanout')) results.push(...(await subscriptionFanout(url)));
    if (only.has('delivery')) results.push(...(await deliveryThroughput(url, runtime.databaseUrl!, runtime.temporalAddress)));
    if (only.has('first-attempt')) results.push(...(await firstAttemptLatency(url, runtime.databaseUrl!)));
    if (only.has('trials')) results.push(...(await openTrialsAndTimers(url, runtime.databaseUrl!)));
    if (only.has('insights')) results.push(...(await insightQueries(url, runtime.databaseUrl!)));
  } catch (error) {
    console.error('bench failed:', error);
    process.exitCode = 1;
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.table(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit, baseline: r.baseline ?? '' })));
  const file = new URL('./results.json', import.meta.url);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
  process.exit();
}

await main();
