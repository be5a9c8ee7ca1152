import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the webhooks' backlog is now, read when /metrics is scraped (the API layer hands it in). */
export type BacklogReader = () => Promise<{
  pendingFirstAttempt: number;
  pendingRetrying: number;
  oldestPendingSeconds: number;
  endpoints: { healthy: number; failing: number; disabled: number };
}>;

/** One registry per API instance, so tests running several instances in one process don't collide. */
export function createMetrics(readBacklog?: BacklogReader) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'trialcast_' });
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
