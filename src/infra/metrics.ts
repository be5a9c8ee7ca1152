import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per API instance, so tests running several instances in one process don't collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'trialcast_' });
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
