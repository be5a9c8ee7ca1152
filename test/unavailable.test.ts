/** Which failures mean "a dependency is away, retry" (a 503 with Retry-After), checked on the errors the real clients raise. */
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectClient } from '../src/infra/temporal.ts';
import { freePort } from '../src/infra/net.ts';
import { unavailableDependency } from '../src/infra/unavailable.ts';
import { createTestDatabase } from './support/harness.ts';

// Accepts connections and never answers: a frozen server as a client sees it. Its sockets are ended with it.
const held = new Set<Socket>();
const silent = createServer((socket) => void held.add(socket));
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

const failure = async (work: () => Promise<unknown>) => {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
};

describe('unavailableDependency', () => {
  it('names PostgreSQL for a refused connection and for a pool that cannot get one in time', async () => {
    const closed = await freePort();
    expect(unavailableDependency(await failure(() => new pg.Client({ host: '127.0.0.1', port: closed }).connect()))).toBe('PostgreSQL');
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const pool = new pg.Pool({ host: '127.0.0.1', port, connectionTimeoutMillis: 200 });
    expect(unavailableDependency(await failure(() => pool.query('select 1')))).toBe('PostgreSQL');
    await pool.end();
  });

  it('names Temporal for a call past its deadline', async () => {
    const client = await connectClient(inject('temporalAddress'), 'default');
    try {
      // A deadline already past: the SDK then gives the call no time at all (a timeout of 0). One 1 ms ahead leaves the
      // call a millisecond or none depending on the clock, and under CI's load it once ended otherwise than in a timeout.
      const error = await failure(() => client.withDeadline(Date.now() - 1000, () => client.workflow.getHandle('no-such-workflow').signal('activity', {})));
      expect(unavailableDependency(error), String((error as Error & { cause?: unknown }).cause ?? error)).toBe('Temporal');
      // A workflow that does not exist is an answer, not an outage.
      expect(unavailableDependency(await failure(() => client.workflow.getHandle('no-such-workflow').signal('activity', {})))).toBeNull();
    } finally {
      await client.connection.close();
    }
  });

  it('does not name a dependency for the database refusing the data', async () => {
    const db = new pg.Client({ connectionString: await createTestDatabase() });
    await db.connect();
    try {
      expect(unavailableDependency(await failure(() => db.query('select 1/0')))).toBeNull();
      expect(unavailableDependency(await failure(() => db.query('insert into apps (id) values (null)')))).toBeNull();
      expect(unavailableDependency(new Error('something else'))).toBeNull();
    } finally {
      await db.end();
    }
  });
});
