/**
 * `npm run bench`: throughput figures on this machine, each beside the bare limit measured
 * in the same run. Prints a table and writes bench/results.json.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from '../src/infra/net.ts';
import { startRuntime } from '../src/runtime.ts';
import { installTemporalLogging } from '../src/temporal/sdk-logging.ts';

interface Result {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  note?: string;
}

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;

async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) =>
    autocannon({ duration: DURATION_S, connections: CONNECTIONS, ...options }, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** The floor of what any Node HTTP handler can do here: a bare server answering JSON. */
async function bareNodeRequestsPerSecond(body: string): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const result = await load({ url: `http://127.0.0.1:${port}/`, method: 'POST', body: '{}' });
  server.close();
  return result.requests.average;
}

async function graphql(url: string, token: string, query: string, variables: object) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data: any };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trialcast-bench-'));
  const logger = createLogger('warn');
  installTemporalLogging(logger);
  const config = {
    ...loadConfig({}),
    dataDir,
    port: 0,
    adminToken: 'tca_bench',
    temporalDevPort: await freePort(),
    temporalUiPort: await freePort(),
  };
  const runtime = await startRuntime({ role: 'all', config, logger, progress: (line) => console.error(line) });
  const results: Result[] = [];
  try {
    const url = runtime.apiUrl!;
    const created = await graphql(url, 'tca_bench', 'mutation { createApp(input: {name: "bench"}) { app { id } apiKey } }', {});
    const { app, apiKey } = created.data.createApp;
    await graphql(url, apiKey, 'mutation($a: ID!) { startTrial(input: {appId: $a, userId: "bench-user"}) { trial { id } } }', { a: app.id });

    const query = JSON.stringify({
      query: 'query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { id userId email segment trialStart trialEnd } }',
      variables: { a: app.id, u: 'bench-user' },
    });
    const sample = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: query });
    const sampleBody = await sample.text();

    const trialQuery = await load({
      url: `${url}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: query,
    });
    if (trialQuery.non2xx > 0 || trialQuery.errors > 0) throw new Error(`trial query had ${trialQuery.non2xx} non-2xx and ${trialQuery.errors} errors`);
    const bare = await bareNodeRequestsPerSecond(sampleBody);
    results.push(
      {
        name: 'graphql.trial_query.req_per_s',
        value: Math.round(trialQuery.requests.average),
        unit: 'req/s',
        baseline: Math.round(bare),
        note: `${CONNECTIONS} connections, ${DURATION_S} s, app API key auth + one indexed SELECT; baseline: bare node:http answering the same JSON`,
      },
      { name: 'graphql.trial_query.p99_ms', value: trialQuery.latency.p99, unit: 'ms' },
    );
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.table(results.map((r) => ({ name: r.name, value: r.value, unit: r.unit, baseline: r.baseline ?? '' })));
  const file = new URL('./results.json', import.meta.url);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
  process.exit(0);
}

await main();
