import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server.js';
import { StartupError } from '../errors.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../core/search-attributes.ts';

export interface TemporalDevServer {
  address: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  executable: EphemeralServerExecutable;
  ip?: string;
  port?: number;
  /** Omit for no Web UI (tests). */
  uiPort?: number;
  /** Omit for an in-memory server (tests). */
  dbFilename?: string;
  namespace: string;
}

/** The SDK gives the dev server 5 s to answer; on a busy machine it sometimes needs a second try. */
const START_ATTEMPTS = 3;

/** `temporal server start-dev` with our search attributes registered. */
export async function startTemporalDevServer(options: DevServerOptions): Promise<TemporalDevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(options);
    } catch (error) {
      const message = (error as Error).message;
      if (attempt >= START_ATTEMPTS || !message.includes('did not start within')) {
        throw new StartupError(`the Temporal dev server did not start: ${message.split('\n')[0]}`);
      }
    }
  }
}

async function startDevServerOnce(options: DevServerOptions): Promise<TemporalDevServer> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: options.executable,
      ip: options.ip ?? '127.0.0.1',
      port: options.port,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      dbFilename: options.dbFilename,
      namespace: options.namespace,
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      log: { format: 'json', level: 'error' },
      extraArgs: [
        // The CLI's dev server re-reads the search attributes from its database on every read of them, so that one
        // created at run time is visible at once; ours are all given above, at start. Each workflow task's history
        // with a search-attribute upsert in it paid that read: ~0.6 ms of the server's CPU a transition here (its
        // profile, README "Measured here"), which a Temporal cluster, caching them, does not pay.
        '--dynamic-config-value',
        'system.forceSearchAttributesCacheRefreshOnRead=false',
        // A file database in WAL mode, synced at checkpoints: commits no longer wait for an
        // fsync each, which is what limits the dev server's task throughput on a small disk.
        // Still crash-safe for the process (not for a power cut on the host).
        ...(options.dbFilename ? ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'] : []),
      ],
    },
  });
  return { address: env.address, stop: () => env.teardown() };
}

async function withReason<T>(address: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    throw new StartupError(`cannot reach Temporal at ${address} (${(error as Error).message.split('\n')[0]}); check TEMPORAL_ADDRESS`);
  }
}

/**
 * A client on the SDK's native connection (the Rust core's gRPC), which the process's worker
 * shares: a signal or a start costs a fraction of the CPU it costs through @grpc/grpc-js.
 */
export async function connectClient(
  address: string,
  namespace: string,
  interceptors: WorkflowClientInterceptor[] = [],
): Promise<Client & { connection: NativeConnection }> {
  const connection = await withReason(address, () => NativeConnection.connect({ address }));
  return Object.assign(new Client({ connection, namespace, interceptors: { workflow: interceptors } }), { connection });
}

/**
 * Registers our custom search attributes on the namespace if missing (an external Temporal;
 * the embedded dev server gets them at start). Idempotent, so every process may call it.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const { IndexedValueType } = proto.temporal.api.enums.v1;
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.fromEntries(
    SEARCH_ATTRIBUTE_KEYS.filter((key) => !customAttributes?.[key.name]).map((key) => [key.name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
  );
  if (Object.keys(missing).length === 0) return;
  try {
    await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (error) {
    // Another process registered them first.
    if ((error as { code?: number }).code !== 6) throw error;
  }
}
