/**
 * A whole Trialcast (API + worker) in the test process, on a database of its own cloned
 * from the migrated template, the run's Temporal server and a task queue of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { startRuntime, type Role, type Runtime } from '../../src/runtime.ts';
import { graphqlRequest, type GraphQLResponse } from './graphql-client.ts';

export { graphqlRequest, type GraphQLResponse } from './graphql-client.ts';

const TEMPLATE_DATABASE = 'trialcast_template';

/** A fresh database with every migration applied; returns its URL. */
export function createTestDatabase(): Promise<string> {
  return createDatabase('test', TEMPLATE_DATABASE);
}

/** An empty database (no migration applied), for tests that migrate step by step; its URL. */
export function createEmptyDatabase(): Promise<string> {
  return createDatabase('test_empty');
}

async function createDatabase(prefix: string, template?: string): Promise<string> {
  const adminUrl = inject('postgresUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestStack {
  url: string;
  adminToken: string;
  databaseUrl: string;
  config: Config;
  runtime: Runtime;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  ws(token?: string | null): WsClient;
  /** Rows of a query on the stack's database ($1 parameters), outside its ORM. */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** The `n` column of a `select count(*) as n …`. */
  count(text: string, params?: unknown[]): Promise<number>;
  stop(): Promise<void>;
}

export async function testConfig(overrides: Partial<Config> = {}): Promise<Config> {
  return {
    ...loadConfig({}),
    port: 0,
    dataDir: await mkdtemp(join(tmpdir(), 'trialcast-data-')),
    databaseUrl: await createTestDatabase(),
    temporalAddress: inject('temporalAddress'),
    temporalTaskQueue: `test-${randomBytes(4).toString('hex')}`,
    adminToken: `tca_test_${randomBytes(12).toString('hex')}`,
    webhookAllowPrivateTargets: true,
    ...overrides,
  };
}

export async function startTestStack(options: { role?: Role; config?: Partial<Config>; logger?: Logger } = {}): Promise<TestStack> {
  const config = await testConfig(options.config);
  const runtime = await startRuntime({
    role: options.role ?? 'all',
    config,
    logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const url = runtime.apiUrl ?? '';
  const adminToken = config.adminToken ?? '';
  const clients: WsClient[] = [];
  let pool: pg.Pool | undefined;
  const sql = async (text: string, params: unknown[] = []) =>
    (await (pool ??= new pg.Pool({ connectionString: config.databaseUrl ?? '', max: 2 })).query(text, params)).rows;
  return {
    url,
    adminToken,
    databaseUrl: config.databaseUrl ?? '',
    config,
    runtime,
    gql: (query, variables, token = adminToken) => graphqlRequest(url, query, variables, token),
    ws(token = adminToken) {
      const client = createClient({
        url: `${url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => undefined,
      });
      clients.push(client);
      return client;
    },
    sql,
    count: async (text, params) => Number((await sql(text, params))[0].n),
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await pool?.end();
      await runtime.stop();
    },
  };
}

/** Collects a subscription's events; `next(n)` waits for the n-th. `extensions` go with the subscribe message. */
export function collect<T>(client: WsClient, query: string, variables: Record<string, unknown>, extensions?: Record<string, unknown>) {
  const events: T[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | null = null;
  const dispose = client.subscribe<T>(
    { query, variables, extensions },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        if (value.data) events.push(value.data as T);
        wake?.();
      },
      error: (error) => {
        errors.push(error);
        wake?.();
      },
      complete: () => wake?.(),
    },
  );
  return {
    events,
    errors,
    dispose,
    async next(count: number, timeoutMs = 10_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count && errors.length === 0) {
        if (Date.now() > deadline) throw new Error(`expected ${count} events within ${timeoutMs} ms, got ${events.length}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      return events.slice(0, count);
    },
  };
}

/** Polls until `probe` returns a value that is not undefined. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
