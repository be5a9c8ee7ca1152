import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the webhooks' backlog is now, read when /metrics is scraped (the API layer hands it in). */
export type BacklogReader = () => Promise<{
  pendingFirstAttempt: number;
  pendingRetrying: number;
  oldestPendingSeconds: number;
  endpoints: { healthy: number; failing: number; disabled: number };
}>;

/** The database pool's clients now: open, idle, and requests waiting for one (pool exhaustion). */
export type PoolReader = () => Promise<{ total: number; idle: number; waiting: number }>;

function poolGauge(registry: Registry, name: string, readPool: PoolReader): void {
  new Gauge({
    name,
    help: "This process's PostgreSQL pool: clients open (total), idle, and queries waiting for a client (waiting > 0: the pool is exhausted)",
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const { total, idle, waiting } = await readPool();
      this.set({ state: 'total' }, total);
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'waiting' }, waiting);
    },
  });
}

export interface ApiMetricsSources {
  readBacklog?: BacklogReader;
  readPool?: PoolReader;
  /** Settings rollouts running now (Temporal's visibility count). */
  countRollouts?: () => Promise<number>;
}

/** One registry per API instance, so tests running several instances in one process don't collide. */
export function createMetrics({ readBacklog, readPool, countRollouts }: ApiMetricsSources = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'trialcast_' });
  if (readPool) poolGauge(registry, 'trialcast_db_pool_clients', readPool);
  if (countRollouts) {
    new Gauge({
      name: 'trialcast_settings_rollouts_running',
      help: 'Settings rollouts in progress: saved settings still being carried to open trials',
      registers: [registry],
      async collect() {
        // Temporal unreachable: the gauge says unknown, and the rest of /metrics still answers.
        this.set(await countRollouts().catch(() => Number.NaN));
      },
    });
  }
  // One read serves the three gauges of one scrape.
  let reading: ReturnType<BacklogReader> | null = null;
  const backlog = () => (reading ??= readBacklog!().finally(() => setImmediate(() => (reading = null))));
  if (readBacklog) {
    new Gauge({
      name: 'trialcast_webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered, failed or exhausted: before their first attempt, or being retried',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        const { pendingFirstAttempt, pendingRetrying } = await backlog();
        this.set({ state: 'first_attempt' }, pendingFirstAttempt);
        this.set({ state: 'retrying' }, pendingRetrying);
      },
    });
    new Gauge({
      name: 'trialcast_webhook_oldest_pending_delivery_seconds',
      help: 'Age of the oldest pending webhook delivery (0: none pending): webhooks backing up',
      registers: [registry],
      async collect() {
        this.set((await backlog()).oldestPendingSeconds);
      },
    });
    new Gauge({
      name: 'trialcast_webhook_endpoints',
      help: 'Webhook endpoints by health: healthy, failing (a run of failed attempts), disabled',
      labelNames: ['health'] as const,
      registers: [registry],
      async collect() {
        const { endpoints } = await backlog();
        for (const [health, count] of Object.entries(endpoints)) this.set({ health }, count);
      },
    });
  }
  return {
    registry,
    httpRequests: new Counter({
      name: 'trialcast_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'trialcast_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    wsConnections: new Counter({
      name: 'trialcast_ws_connections_total',
      help: 'graphql-ws connections accepted',
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800, 7200, 86_400];

/**
 * The worker's own metrics (a separate process in a deployment): transitions, and each webhook
 * attempt's outcome, duration and lag. Served on WORKER_METRICS_PORT, and beside the API's in
 * one process (npm start).
 */
export function createWorkerMetrics(readPool?: PoolReader) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'trialcast_worker_' });
  // Under npm start the worker shares the API's pool: the same figures under both names.
  if (readPool) poolGauge(registry, 'trialcast_worker_db_pool_clients', readPool);
  return {
    registry,
    transitions: new Counter({
      name: 'trialcast_transitions_total',
      help: 'Segment transitions recorded, by from and to segment and reason',
      labelNames: ['from', 'to', 'reason'] as const,
      registers: [registry],
    }),
    attempts: new Counter({
      name: 'trialcast_webhook_attempts_total',
      help: 'Webhook attempts by outcome: the answer status class, timeout, connection_error, refused (SSRF), unsendable (template)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    deliveriesFinished: new Counter({
      name: 'trialcast_webhook_deliveries_finished_total',
      help: 'Webhook deliveries that reached a final state: delivered, failed (refused for good: 410, a 4xx the endpoint marks final), exhausted (its retry schedule ended), held_out (kept from its endpoint by a holdout, never sent)',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: 'trialcast_webhook_attempt_duration_seconds',
      help: 'Webhook attempt duration, request to answer',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30],
      registers: [registry],
    }),
    firstAttemptLag: new Histogram({
      name: 'trialcast_webhook_first_attempt_lag_seconds',
      help: 'From a move recorded (its delivery planned) to its first attempt',
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    eventToTransition: new Histogram({
      name: 'trialcast_event_to_transition_seconds',
      help: "From ingest's signal of an event (an aha, a conversion, activity while quiet) to the move it caused recorded",
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    timerLateness: new Histogram({
      name: 'trialcast_timer_lateness_seconds',
      help: "From a trial threshold's due time (gone quiet, ending soon, last chance, ended) to the worker acting on its timer",
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    deliveredAfter: new Histogram({
      name: 'trialcast_webhook_delivered_after_seconds',
      help: 'From a move recorded to its webhook answered 2xx: end-to-end latency, retries included',
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** A registry on its own port (the worker's /metrics): GET /metrics, nothing else. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') return void res.writeHead(404).end();
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(text);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return { url: `http://${host}:${bound}/metrics`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Ingest's events (not requests): accepted, or refused and why. Served on the API's /metrics. */
export function createIngestMetrics() {
  const registry = new Registry();
  return {
    registry,
    events: new Counter({
      name: 'trialcast_events_total',
      help: 'Events received by ingest, by route (/v1/track, /v1/batch, /hooks/segment/:writeKey, the server-to-server path): accepted (stored), or refused as invalid, over the rate limit, or over the batch limit',
      labelNames: ['outcome', 'route'] as const,
      registers: [registry],
    }),
  };
}
