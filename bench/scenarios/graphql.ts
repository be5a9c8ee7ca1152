import { bareNodeRequestsPerSecond, CONNECTIONS, DURATION_S, graphql, load, type Product, type Result } from '../support.ts';

export async function trialQueryThroughput({ url }: Product): Promise<Result[]> {
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

  const trialQuery = await load({
    url: `${url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: query,
  });
  if (trialQuery.non2xx > 0 || trialQuery.errors > 0) throw new Error(`trial query had ${trialQuery.non2xx} non-2xx and ${trialQuery.errors} errors`);
  const bare = await bareNodeRequestsPerSecond(sampleBody);
  return [
    {
      name: 'graphql.trial_query.req_per_s',
      value: Math.round(trialQuery.requests.average),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: `${CONNECTIONS} connections, ${DURATION_S} s, app API key auth + one indexed SELECT; baseline: bare node:http answering the same JSON`,
    },
    { name: 'graphql.trial_query.p99_ms', value: trialQuery.latency.p99, unit: 'ms' },
  ];
}
