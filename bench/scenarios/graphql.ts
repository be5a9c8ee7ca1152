import { createSchema, createYoga } from 'graphql-yoga';
import { bareNodeRequestsPerSecond, CONNECTIONS, cpuPerUnit, DURATION_S, graphql, load, loadInProcess, type Product, type Result } from '../support.ts';

export async function trialQueryThroughput({ url, labels }: Product): Promise<Result[]> {
  const created = await graphql(url, 'tca_bench', 'mutation { createApp(input: {name: "bench"}) { app { id } apiKey } }', {});
  const { app, apiKey } = created.data.createApp;
  await graphql(url, apiKey, 'mutation($a: ID!) { startTrial(input: {appId: $a, userId: "bench-user"}) { trial { id } } }', { a: app.id });

  const query = JSON.stringify({
    query: 'query($a: ID!, $u: String!) { trial(appId: $a, userId: $u) { id userId email segment trialStart trialEnd } }',
    variables: { a: app.id, u: 'bench-user' },
  });
  const sample = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: query,
  });
  const sampleBody = await sample.text();

  const { result: trialQuery, cpu } = await cpuPerUnit(
    labels,
    () =>
      load({
        url: `${url}/graphql`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: query,
      }),
    (result) => result.requests.total,
  );
  if (trialQuery.non2xx > 0 || trialQuery.errors > 0) throw new Error(`trial query had ${trialQuery.non2xx} non-2xx and ${trialQuery.errors} errors`);
  const bare = await bareNodeRequestsPerSecond(sampleBody);
  const yogaAlone = await yogaAloneRequestsPerSecond(query, JSON.parse(sampleBody).data.trial);
  return [
    {
      name: 'graphql.trial_query.req_per_s',
      value: Math.round(trialQuery.requests.average),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: `${CONNECTIONS} connections, ${DURATION_S} s, app API key auth + one indexed SELECT; CPU µs a request: ${cpu}; baseline: bare node:http answering the same JSON`,
    },
    { name: 'graphql.trial_query.p99_ms', value: trialQuery.latency.p99, unit: 'ms' },
    {
      name: 'graphql.yoga_alone.req_per_s',
      value: Math.round(yogaAlone),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: "the framework alone: graphql-yoga on node:http answering the same query from a constant resolver (no auth, no database, no plugins), in the load generator's process as the bare baseline is",
    },
  ];
}

/** What graphql-yoga itself costs a request here: the same document and answer, nothing of Trialcast's. */
async function yogaAloneRequestsPerSecond(body: string, trial: Record<string, unknown>): Promise<number> {
  const yoga = createYoga({
    schema: createSchema({
      typeDefs:
        'type Query { trial(appId: ID!, userId: String!): Trial } type Trial { id: ID! userId: String! email: String segment: String trialStart: String trialEnd: String }',
      resolvers: { Query: { trial: () => trial } },
    }),
    logging: false,
    graphiql: false,
    landingPage: false,
  });
  const result = await loadInProcess(yoga, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (result.non2xx > 0) throw new Error(`graphql-yoga alone answered ${result.non2xx} non-2xx`);
  return result.requests.average;
}
