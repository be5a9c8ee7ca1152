/**
 * Composes the processes: embedded PostgreSQL and Temporal (when no external ones are
 * configured), migrations, the API listener and the Temporal worker. Everything started
 * is stopped in reverse order by `stop`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Config } from './config.ts';
import { StartupError } from './errors.ts';
import type { Logger } from './logger.ts';
import { loadAdminToken } from './admin-token.ts';
import { assertPortFree } from './infra/net.ts';
import { migrateUp, openOrm, poolStats, type MikroORM } from './infra/orm.ts';
import { ENTITIES } from './modules/entities.ts';
import { ensureEventPartitions } from './modules/ingest/event-partitions.ts';
import { ensureDeliveryPartitions } from './modules/webhooks/delivery-partitions.ts';
import { startEmbeddedPostgres } from './infra/postgres.ts';
import { connectClient, ensureSearchAttributes, startTemporalDevServer } from './infra/temporal.ts';
import { resolveTemporalExecutable } from './infra/temporal-cli.ts';
import { PgFeed } from './infra/pg-feed.ts';
import { segmentChangeChannel } from './modules/trials/segment-change-feed.ts';
import { operationalEventChannel } from './modules/webhooks/operational-events.ts';
import { deliveryAttemptChannel } from './modules/webhooks/attempt-feed.ts';
import { keyRevocationChannel } from './modules/apps/api-key-revocations.ts';
import { Credentials } from './graphql/credentials.ts';
import { buildApp } from './server.ts';
import { loadSecretBox } from './secret-box.ts';
import { sealPlainSigningSecrets } from './modules/webhooks/signing-secrets.ts';
import { IngestService } from './modules/ingest/ingest.service.ts';
import { createIntegrations } from './modules/apps/integrations.service.ts';
import { createSettings } from './modules/trials/settings.service.ts';
import { createTrials } from './modules/trials/trials.service.ts';
import { createWebhooks } from './modules/webhooks/webhooks.service.ts';
import { zapierRoutes } from './modules/webhooks/zapier.routes.ts';
import { segmentHttpRoutes } from './modules/ingest/segment-http.routes.ts';
import { sdkConfigRoutes } from './modules/ingest/sdk-config.routes.ts';
import { consoleRoutes } from './infra/static-files.ts';

/** The console's build (npm run build:console). */
const CONSOLE_DIR = fileURLToPath(new URL('../dist/console', import.meta.url));
import { exportRoutes } from './modules/insights/export.routes.ts';
import { stripeRoutes } from './modules/ingest/stripe.routes.ts';
import { hookRoutes } from './modules/ingest/hook-routes.ts';
import { startWorker } from './temporal/worker.ts';
import { startTracing, type Tracing } from './infra/tracing.ts';
import { createIngestMetrics, createWorkerMetrics, serveMetrics } from './infra/metrics.ts';
import { ensureSchedules } from './temporal/schedules.ts';

export type Role = 'all' | 'api' | 'worker';

export interface Runtime {
  apiUrl: string | null;
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | null;
  adminTokenFile: string | null;
  /** The process's database handle (one pool for the API and the worker), for embedding and tests. */
  orm: MikroORM;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  role: Role;
  config: Config;
  logger: Logger;
  /** Progress of long start-up steps (building the Temporal CLI), for people watching. */
  progress?: (line: string) => void;
  workflowBundle?: WorkflowBundleWithSourceMap | { codePath: string };
  /** Tracing set up by the caller (tests, with an in-memory exporter; the bundle must have its interceptors), else from OTEL_* variables. */
  tracing?: Tracing;
}

/** A start-up step slower than this makes the start say how long each step took. */
const SLOW_STEP_MS = 3_000;

export async function startRuntime({
  role,
  config,
  logger,
  progress = () => undefined,
  workflowBundle,
  tracing: givenTracing,
}: RuntimeOptions): Promise<Runtime> {
  const stops: Array<() => Promise<unknown>> = [];
  const steps: Array<{ name: string; ms: number }> = [];
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      steps.push({ name, ms: performance.now() - started });
    }
  };
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch((error: Error) => logger.warn({ err: error.message }, 'stop step failed'));
    stops.length = 0;
  };
  try {
    const tracing = givenTracing ?? (config.tracing ? startTracing({ serviceName: role === 'all' ? 'trialcast' : `trialcast-${role}` }) : null);
    // Pushed first, so run last: spans of the draining steps are flushed too.
    if (tracing && !givenTracing) stops.push(() => tracing.shutdown());

    if (role !== 'all' && (!config.databaseUrl || !config.temporalAddress)) {
      throw new StartupError(
        `npm run start:${role} needs DATABASE_URL and TEMPORAL_ADDRESS (one role of a deployment); ` + 'use npm start to run everything on one machine',
      );
    }

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const postgres = await timed('embedded PostgreSQL', () =>
        startEmbeddedPostgres({ dir: join(config.dataDir, 'postgres'), database: 'trialcast', logger }),
      );
      stops.push(() => postgres.stop());
      databaseUrl = postgres.url;
    }

    let temporalAddress = config.temporalAddress;
    let temporalUiUrl = config.temporalUiUrl;
    if (!temporalAddress) {
      await assertPortFree('127.0.0.1', config.temporalDevPort, 'the Temporal dev server', 'TEMPORAL_DEV_PORT');
      await assertPortFree('127.0.0.1', config.temporalUiPort, 'the Temporal Web UI', 'TEMPORAL_UI_PORT');
      const executable = await timed('Temporal CLI', () => resolveTemporalExecutable(progress));
      const temporal = await timed('Temporal dev server', () =>
        startTemporalDevServer({
          executable,
          port: config.temporalDevPort,
          uiPort: config.temporalUiPort,
          dbFilename: join(config.dataDir, 'temporal.sqlite'),
          namespace: config.temporalNamespace,
        }),
      );
      stops.push(() => temporal.stop());
      temporalAddress = temporal.address;
      temporalUiUrl ??= `http://127.0.0.1:${config.temporalUiPort}`;
    }

    const orm = await openOrm(databaseUrl, ENTITIES);
    stops.push(() => orm.close(true));
    // Every role migrates (under an advisory lock): a worker started first on a fresh database finds its schema too.
    const applied = await timed('migrations', () => migrateUp(orm));
    if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
    // This month's and the next ones' event partitions, and this week's and the next ones' delivery partitions, before
    // anything arrives (the hourly maintenance keeps them ahead).
    await timed('event partitions', () => ensureEventPartitions(orm));
    await timed('delivery partitions', () => ensureDeliveryPartitions(orm));

    const temporal = await connectClient(temporalAddress, config.temporalNamespace, tracing?.clientInterceptors);
    stops.push(() => temporal.connection.close());
    await ensureSearchAttributes(temporal, config.temporalNamespace);

    // Destinations' credentials and endpoints' signing secrets are sealed by the API and opened by the worker: both
    // need the same key. Signing secrets stored before they were sealed are sealed now (by whichever process starts).
    const secrets = await loadSecretBox(config.secretKey, config.dataDir);
    const sealed = await timed('signing secrets', () => sealPlainSigningSecrets(orm, secrets));
    if (sealed) logger.info({ endpoints: sealed }, 'sealed signing secrets stored before sealing');
    const workerMetrics = role === 'api' ? null : createWorkerMetrics(() => poolStats(orm));
    if (workerMetrics && config.workerMetricsPort !== null) {
      const served = await serveMetrics(workerMetrics.registry, config.host, config.workerMetricsPort);
      stops.push(() => served.stop());
      progress(`worker metrics on ${served.url}`);
    }
    if (role !== 'api') {
      const worker = await timed('worker', () =>
        startWorker({
          connection: temporal.connection,
          namespace: config.temporalNamespace,
          taskQueue: config.temporalTaskQueue,
          orm,
          temporal,
          webhookAllowPrivateTargets: config.webhookAllowPrivateTargets,
          deliveryRetention: config.deliveryRetention,
          eventRetention: config.eventRetention,
          secrets,
          publicUrl: config.publicUrl,
          workflowCacheSize: config.workflowCacheSize,
          logger,
          workflowBundle,
          tracing,
          metrics: workerMetrics!,
        }),
      );
      stops.push(() => worker.stop());
      await ensureSchedules(temporal, config.temporalTaskQueue);
    }

    let apiUrl: string | null = null;
    let adminTokenFile: string | null = null;
    if (role !== 'worker') {
      const admin = await loadAdminToken(config.adminToken, config.dataDir);
      adminTokenFile = admin.file;
      const feed = new PgFeed(databaseUrl, logger);
      const segmentChanges = segmentChangeChannel(feed, orm);
      const operationalEvents = operationalEventChannel(feed);
      const deliveryAttempts = deliveryAttemptChannel(feed, orm);
      const keyRevocations = keyRevocationChannel(feed);
      const credentials = new Credentials(orm, admin.token);
      await feed.start();
      stops.push(() => feed.stop());
      // Each service is built once, from what it needs.
      const taskQueue = config.temporalTaskQueue;
      const workflowUi = temporalUiUrl ? { url: temporalUiUrl, namespace: config.temporalNamespace } : null;
      const trials = createTrials({ temporal, taskQueue, workflowUi });
      const ingestMetrics = createIngestMetrics();
      const ingest = new IngestService({
        orm,
        temporal,
        trials,
        logger,
        countEvents: (outcome, count, route) => ingestMetrics.events.inc({ outcome, route }, count),
      });
      const services = {
        orm,
        temporal,
        credentials,
        trials,
        settings: createSettings({ temporal, taskQueue, onSaved: (appId) => ingest.forgetSettings(appId) }),
        webhooks: createWebhooks({ orm, temporal, taskQueue, allowPrivate: config.webhookAllowPrivateTargets, secrets, publicUrl: config.publicUrl }),
        integrations: createIntegrations({ secrets }),
        feeds: { segmentChanges, operationalEvents, deliveryAttempts, keyRevocations },
        logger,
      };
      const app = buildApp(
        services,
        {
          host: config.host,
          port: config.port,
          production: config.production,
          introspection: config.graphqlIntrospection,
          // Ingest's event counts; under npm start (one process) the worker's too.
          alsoMetrics: [ingestMetrics.registry, ...(workerMetrics ? [workerMetrics.registry] : [])],
        },
        {
          ...consoleRoutes(CONSOLE_DIR),
          ...segmentHttpRoutes(ingest),
          ...sdkConfigRoutes(ingest),
          ...hookRoutes(ingest, secrets),
          ...stripeRoutes({ orm, trials, secrets, logger }),
          ...exportRoutes({ orm, authorize: (authorization, appId) => credentials.appAccess(authorization, appId) }),
          ...zapierRoutes({
            orm,
            webhooks: services.webhooks,
            appOfKey: async (apiKey) => {
              const auth = apiKey ? await credentials.authenticate(`Bearer ${apiKey}`) : null;
              return auth?.kind === 'app' ? auth.appId : null;
            },
          }),
        },
      );
      // Revocation notices sent while the feed was away were missed: every open socket shows its credentials again.
      feed.onReconnect(() => void app.recheckSockets());
      apiUrl = (await timed('API', () => app.start())).url;
      stops.push(() => app.stop());
    }
    if (steps.some((step) => step.ms > SLOW_STEP_MS)) {
      progress(`start-up steps: ${steps.map((step) => `${step.name} ${(step.ms / 1000).toFixed(1)} s`).join(', ')}`);
    }
    return { apiUrl, databaseUrl, temporalAddress, temporalUiUrl, adminTokenFile, orm, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
