import pg from 'pg';
import {
  bareNodeRequestsPerSecond,
  CONNECTIONS,
  cpuPerUnit,
  DURATION_S,
  load,
  newApp,
  accountsOf,
  groupTrackMessages,
  trackMessages,
  UNLIMITED,
  type Product,
  type Result,
} from '../support.ts';

/**
 * `/v1/batch` (100 messages a request) and single `/v1/track`, each acknowledged only after
 * its commit; beside them, a bare node:http server and raw multi-row INSERTs of the same rows.
 * After each load the stored rows are counted: every acknowledged event must be there.
 */
export async function ingestThroughput({ url, databaseUrl, labels }: Product): Promise<Result[]> {
  const app = await newApp(url, UNLIMITED);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return await measureIngest(url, app, databaseUrl, db, labels);
  } finally {
    await db.end();
  }
}

async function measureIngest(
  url: string,
  app: { appId: string; writeKey: string },
  databaseUrl: string,
  db: pg.Client,
  labels: Map<number, string>,
): Promise<Result[]> {
  const auth = `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}`;
  const stored = async () => Number((await db.query('select count(*) as n from events where app_id = $1', [app.appId])).rows[0].n);
  let sequence = 0;
  const unique = (path: string, body: (n: number) => object) => [
    { method: 'POST' as const, path, setupRequest: (request: any) => ({ ...request, body: JSON.stringify(body(sequence++)) }) },
  ];

  const BATCH = 100;
  const probe = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify({ batch: trackMessages('probe', BATCH, 0) }),
  });
  if (probe.status !== 200) throw new Error(`/v1/batch answered ${probe.status}: ${await probe.text()}`);
  // One load of a route, with its CPU by program per event (requests × events a request).
  const measured = (path: string, headers: Record<string, string>, body: (n: number) => object, eventsPerRequest = 1) =>
    cpuPerUnit(
      labels,
      () => load({ url: `${url}${path}`, headers, requests: unique(path, body) }),
      (result) => result.requests.total * eventsPerRequest,
    );
  const json = { 'content-type': 'application/json', authorization: auth };
  const { result: batch, cpu: batchCpu } = await measured('/v1/batch', json, (n) => ({ batch: trackMessages('b', BATCH, n) }), BATCH);
  // B2B: every user in three accounts (group calls first), then batches whose every message names one of them, bracketed by
  // plain batches: each load makes the events table larger, so the grouped figure is judged against the plain ones either side.
  await joinAccounts(url, auth, BATCH);
  // As an install whose accounts exist has them: statistics that know the memberships (autovacuum would analyze the
  // 15,000 new rows within its minute; until then plans made for an empty table scan it for every event).
  await db.query('analyze account_members, accounts');
  // The plain loads either side are of users in no account, as in the first load (the grouped load's users have three each).
  const plain = (prefix: string) => measured('/v1/batch', json, (n) => ({ batch: trackMessages(prefix, BATCH, n, 'plain-user') }), BATCH);
  const { result: plainBefore, cpu: plainCpu } = await plain('pb');
  const beforeGroup = await stored();
  const { result: grouped, cpu: groupedCpu } = await measured('/v1/batch', json, (n) => ({ batch: groupTrackMessages('g', BATCH, n) }), BATCH);
  const afterGroup = await stored();
  const { result: plainAfter } = await plain('pa');
  const bracket = Math.round(((plainBefore.requests.average + plainAfter.requests.average) / 2) * BATCH);
  const afterBatch = await stored();
  const { result: track, cpu: trackCpu } = await measured('/v1/track', json, (n) => trackMessages('t', 1, n)[0]!);
  const afterTrack = await stored();
  // The browser path: Segment's analytics-next posts one event a request to /v1/t, JSON as text/plain, the write key in the body.
  const { result: browser, cpu: browserCpu } = await measured('/v1/t', { 'content-type': 'text/plain', origin: 'https://app.customer.example' }, (n) => ({
    ...trackMessages('w', 1, n)[0]!,
    writeKey: app.writeKey,
  }));
  const afterBrowser = await stored();
  for (const [name, result] of [
    ['batch', batch],
    ['track', track],
    ['t', browser],
    ['batch (groups)', grouped],
    ['batch (before groups)', plainBefore],
    ['batch (after groups)', plainAfter],
  ] as const) {
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`/v1/${name} had ${result.non2xx} non-2xx and ${result.errors} errors: ${JSON.stringify(result.statusCodeStats)}`);
  }
  const acknowledged = batch['2xx'] * BATCH + track['2xx'] + browser['2xx'];
  if (afterBrowser < acknowledged) throw new Error(`lost events: ${acknowledged} acknowledged, ${afterBrowser} stored`);
  if (afterGroup - beforeGroup < grouped['2xx'] * BATCH)
    throw new Error(`lost events: ${grouped['2xx'] * BATCH} acknowledged, ${afterGroup - beforeGroup} stored`);

  // The machine's limit for the same rows: 100-row INSERTs on as many connections as our pool.
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  let rawRows = 0;
  const rawUntil = performance.now() + DURATION_S * 1000;
  await Promise.all(
    Array.from({ length: 10 }, async (_, worker) => {
      for (let n = 0; performance.now() < rawUntil; n++) {
        const rows = trackMessages(`raw-${worker}`, BATCH, n);
        await raw.query(
          `insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
         select $1, m, 'track', 'Report Viewed', u, p, '{}', '{}', now(), now()
         from jsonb_to_recordset($2::jsonb) as v(m text, u text, p jsonb)`,
          [app.appId, JSON.stringify(rows.map((row) => ({ m: row.messageId, u: row.userId, p: row.properties })))],
        );
        rawRows += BATCH;
      }
    }),
  );
  await raw.end();
  const bare = await bareNodeRequestsPerSecond('{"success":true}');
  return [
    {
      name: 'ingest.batch.events_per_s',
      value: Math.round(batch.requests.average * BATCH),
      unit: 'events/s',
      baseline: Math.round(rawRows / DURATION_S),
      note: `/v1/batch of ${BATCH}, ${CONNECTIONS} connections, ${DURATION_S} s, p99 ${batch.latency.p99} ms, ${batch.non2xx} non-2xx; CPU µs an event: ${batchCpu}; baseline: raw 100-row INSERTs on 10 connections`,
    },
    {
      name: 'ingest.batch_group.events_per_s',
      value: Math.round(grouped.requests.average * BATCH),
      unit: 'events/s',
      baseline: bracket,
      note: `/v1/batch of ${BATCH}, every message with context.groupId, each user in 3 accounts; p99 ${grouped.latency.p99} ms; CPU µs an event: ${groupedCpu}; baseline: plain /v1/batch, the mean of the loads just before and just after it (each load grows the events table, which slows the next), ${Math.round(plainBefore.requests.average * BATCH)} and ${Math.round(plainAfter.requests.average * BATCH)} events/s, CPU µs an event before: ${plainCpu} (target: within 15 %)`,
    },
    {
      name: 'ingest.track.req_per_s',
      value: Math.round(track.requests.average),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: `/v1/track, ${CONNECTIONS} connections, ${DURATION_S} s, ${track.non2xx} non-2xx; CPU µs a request: ${trackCpu}; baseline: bare node:http`,
    },
    { name: 'ingest.track.p99_ms', value: track.latency.p99, unit: 'ms' },
    {
      name: 'ingest.browser_t.req_per_s',
      value: Math.round(browser.requests.average),
      unit: 'req/s',
      baseline: Math.round(bare),
      note: `/v1/t as analytics-next sends it (text/plain, write key in the body, an Origin), ${CONNECTIONS} connections, ${DURATION_S} s; CPU µs a request: ${browserCpu}; baseline: bare node:http`,
    },
    { name: 'ingest.browser_t.p99_ms', value: browser.latency.p99, unit: 'ms' },
    {
      name: 'ingest.durable',
      value: afterTrack - afterBatch >= track['2xx'] && afterBatch >= batch['2xx'] * BATCH && afterBrowser - afterTrack >= browser['2xx'] ? 1 : 0,
      unit: 'bool',
      note: `${acknowledged} events acknowledged, ${afterBrowser} stored`,
    },
  ];
}

/** Group calls making each of the 5,000 bench users a member of its three accounts (not measured). */
async function joinAccounts(url: string, auth: string, batchSize: number): Promise<void> {
  const calls = Array.from({ length: 5000 }, (_, user) =>
    accountsOf(user).map((groupId) => ({ type: 'group', userId: `ingest-user-${user}`, groupId, traits: { name: groupId } })),
  ).flat();
  for (let i = 0; i < calls.length; i += batchSize) {
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body: JSON.stringify({ batch: calls.slice(i, i + batchSize) }),
    });
    if (response.status !== 200) throw new Error(`group calls answered ${response.status}: ${await response.text()}`);
  }
}
