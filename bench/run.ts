/**
 * `npm run bench`: throughput figures on this machine, each beside the bare limit measured
 * in the same run. Prints a table and writes bench/results.json.
 */
// First: BENCH_PROFILE sets the scenarios' sizes before they read them.
import './profile.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logger.ts';
import { startEmbeddedPostgres } from '../src/infra/postgres.ts';
import { startTemporalDevServer } from '../src/infra/temporal.ts';
import { resolveTemporalExecutable } from '../src/infra/temporal-cli.ts';
import { againstFloors, deliveryFormats, deliveryThroughput, firstAttemptAtHalfCapacity, firstAttemptLatency } from './scenarios/delivery.ts';
import { subscriptionFanout } from './scenarios/fanout.ts';
import { trialQueryThroughput } from './scenarios/graphql.ts';
import { ingestThroughput } from './scenarios/ingest.ts';
import { insightQueries } from './scenarios/insights.ts';
import { noticePaths, transitionFloor } from './scenarios/floor.ts';
import { eventToSubscription, eventToSubscriptionAtHalfCapacity } from './scenarios/latency.ts';
import { openTrialsAndTimers } from './scenarios/trials.ts';
import { scaleFigures } from './scenarios/scale.ts';
import { startProduct, type Result } from './support.ts';

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trialcast-bench-'));
  const logger = createLogger('warn');
  // PostgreSQL and the Temporal dev server as npm start runs them; the product's API and worker
  // each in a process of its own, and the load generator in this one.
  const postgres = await startEmbeddedPostgres({ dir: join(dataDir, 'postgres'), database: 'trialcast', logger });
  const temporal = await startTemporalDevServer({
    executable: await resolveTemporalExecutable((line) => console.error(line)),
    dbFilename: join(dataDir, 'temporal.sqlite'),
    namespace: 'default',
  });
  const product = await startProduct({ DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, DATA_DIR: dataDir });
  const results: Result[] = [];
  try {
    // BENCH_ONLY=ingest,graphql,latency,fanout,delivery,delivery-formats,first-attempt,notice-paths,trials,insights,scale runs a subset.
    const only = new Set((process.env.BENCH_ONLY ?? 'graphql,ingest,latency,fanout,delivery,delivery-formats,first-attempt,trials,insights,scale').split(','));
    if (only.has('ingest')) results.push(...(await ingestThroughput(product)));
    if (only.has('graphql')) results.push(...(await trialQueryThroughput(product)));
    if (only.has('latency')) results.push(...(await eventToSubscription(product)));
    if (only.has('fanout')) results.push(...(await subscriptionFanout(product)));
    if (only.has('delivery')) results.push(...(await deliveryThroughput(product)));
    if (only.has('delivery-formats')) results.push(...(await deliveryFormats(product)));
    if (only.has('first-attempt')) {
      // Temporal's floor first, in the same run on the same server: the transitions' baselines (signalled, and from an ingested event).
      const floor = await transitionFloor(product);
      const floorWithIngest = await transitionFloor(product, { notice: 'ingest' });
      const firstAttempts = await firstAttemptLatency(product, floor, floorWithIngest);
      results.push(...floor.results, ...floorWithIngest.results, ...firstAttempts.results);
      if (firstAttempts.top) {
        // And again right after the load, before anything else runs: the ratios are against both.
        const floorAfter = await transitionFloor(product, { after: true });
        const floorWithIngestAfter = await transitionFloor(product, { notice: 'ingest', after: true });
        results.push(
          ...floorAfter.results,
          ...floorWithIngestAfter.results,
          ...againstFloors(firstAttempts.top, [
            { name: 'transition.floor', before: floor, after: floorAfter },
            { name: 'transition.floor_with_ingest', before: floorWithIngest, after: floorWithIngestAfter },
          ]),
        );
      }
      results.push(...(await firstAttemptAtHalfCapacity(product, firstAttempts.capacity)));
      if (only.has('latency')) results.push(...(await eventToSubscriptionAtHalfCapacity(product, firstAttempts.capacity)));
    }
    // Not in the default run: the floor by signal against the same floor by workflow Update (issue 31's question).
    if (only.has('notice-paths')) results.push(...(await noticePaths(product)));
    if (only.has('trials')) results.push(...(await openTrialsAndTimers(product)));
    if (only.has('insights')) results.push(...(await insightQueries(product)));
    // Last: it leaves 10 million events behind.
    if (only.has('scale')) results.push(...(await scaleFigures(product)));
  } catch (error) {
    console.error('bench failed:', error);
    process.exitCode = 1;
  } finally {
    await product.stop();
    await temporal.stop();
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.table(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit, baseline: r.baseline ?? '' })));
  const file = new URL('./results.json', import.meta.url);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
  process.exit();
}

await main();
