import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { StartupError } from './errors.ts';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { sendJson, type RouteHandler } from './infra/http-body.ts';
import { unavailableDependency } from './infra/unavailable.ts';
import { Registry } from 'prom-client';
import { createMetrics } from './infra/metrics.ts';
import { deliveryBacklog } from './modules/webhooks/delivery-backlog.ts';
import { countRunningRollouts } from './modules/trials/settings.service.ts';
import { poolStats } from './infra/orm.ts';
import type { Services } from './graphql/context.ts';
import { serveGraphQLOverWebSocket } from './graphql/ws-server.ts';
import { createGraphQLHandler } from './graphql/yoga.ts';

export interface ServerOptions {
  host: string;
  port: number;
  production: boolean;
  introspection: boolean;
  /** How long in-flight requests get to finish on stop. */
  drainMs?: number;
  /** Other registries served on /metrics beside the API's (the worker's, when both run in this process). */
  alsoMetrics?: Registry[];
}

export interface RunningApp {
  url: string;
  port: number;
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness: the database and Temporal both answer. */
async function readiness(services: Services): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const check = async (work: () => Promise<unknown>) => {
    try {
      await within(2000, work());
      return 'ok';
    } catch (error) {
      return (error as Error).message.split('\n')[0] ?? 'failed';
    }
  };
  const [database, temporal] = await Promise.all([
    check(() => services.orm.em.getConnection().execute('select 1')),
    check(() => services.temporal.connection.workflowService.getSystemInfo({})),
  ]);
  return { ready: database === 'ok' && temporal === 'ok', checks: { database, temporal } };
}

/**
 * The API process's HTTP and WebSocket listener: GraphQL (HTTP and graphql-ws on /graphql),
 * health, readiness and metrics. `start` binds (port 0 picks a free one), `stop` drains.
 */
export function buildApp(services: Services, options: ServerOptions, extraRoutes: Record<string, RouteHandler> = {}) {
  const metrics = createMetrics({
    readBacklog: () => deliveryBacklog(services.orm),
    readPool: () => poolStats(services.orm),
    countRollouts: () => countRunningRollouts(services.temporal),
  });
  const yoga = createGraphQLHandler(services, options);
  const tracer = trace.getTracer('trialcast');

  const routes: Record<string, RouteHandler> = {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const { ready, checks } = await readiness(services);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    },
    '/metrics': async (_req, res) => {
      const registry = options.alsoMetrics?.length ? Registry.merge([metrics.registry, ...options.alsoMetrics]) : metrics.registry;
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(text);
    },
    '/graphql': async (req, res) => {
      await yoga.requestListener(req, res);
    },
    ...extraRoutes,
  };

  // Slow clients (slow-loris) cannot hold connections: headers within 10 s, a whole request
  // within 30 s, checked every second.
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 }, async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // Exact routes first; a route ending in '/*' serves the paths below it (/hooks/stripe/{appId}).
    const below = routes[path]
      ? undefined
      : Object.keys(routes).find((key) => key.endsWith('/*') && path.startsWith(key.slice(0, -1)) && path.length > key.length - 1);
    const handler = routes[path] ?? (below ? routes[below] : undefined);
    const route = routes[path] ? path : below ? `${below.slice(0, -1)}:id` : 'unmatched';
    const endTimer = metrics.httpDuration.startTimer({ route });
    const started = performance.now();
    // A span per request (a no-op unless tracing is on), continuing the caller's trace if it sent one;
    // named by the route, never the path.
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } },
      propagation.extract(context.active(), req.headers),
    );
    res.once('finish', () => {
      endTimer();
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      // The route, never the path or query: both can carry credentials (/hooks/segment/{writeKey}, ?token=).
      services.logger.info({ method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    });
    // 'close' comes after 'finish', and also when the connection went away before an answer.
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    await context.with(trace.setSpan(context.active(), span), async () => {
      try {
        if (!handler) return sendJson(res, 404, { error: `no route ${req.method} ${path}` });
        await handler(req, res);
      } catch (error) {
        // A dependency away for now: the client may send the same request again (events keep their messageId).
        const unavailable = unavailableDependency(error);
        // The route only: the path can hold a write key (/hooks/segment/{writeKey}).
        if (unavailable)
          services.logger.warn({ err: (error as Error).message, method: req.method, route, unavailable }, 'request refused: dependency unavailable');
        else services.logger.error({ err: error, method: req.method, route }, 'request failed');
        if (res.headersSent) res.destroy();
        else if (unavailable) sendJson(res, 503, { success: false, error: `${unavailable} is unavailable; retry this request` }, { 'retry-after': '5' });
        else sendJson(res, 500, { error: 'internal error' });
      }
    });
  });

  // noServer: the listener's errors (a port in use) stay ours to report, not ws's.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/graphql') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
  });
  const { recheckSockets, stopHearingRevocations } = serveGraphQLOverWebSocket(wss, yoga, services, metrics);

  let running: RunningApp | null = null;

  return {
    server,
    metrics,
    recheckSockets,
    async start(): Promise<RunningApp> {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) =>
          reject(
            new StartupError(
              error.code === 'EADDRINUSE'
                ? `port ${options.host}:${options.port} is already in use; stop what is using it or set PORT to another port`
                : `cannot listen on ${options.host}:${options.port} (${error.code ?? error.message}); check PORT and HOST`,
            ),
          );
        server.once('error', onError);
        server.listen(options.port, options.host, () => {
          server.off('error', onError);
          resolve();
        });
      });
      const { port } = server.address() as AddressInfo;
      running = { port, url: `http://${options.host}:${port}` };
      return running;
    },
    async stop(): Promise<void> {
      if (!running) return;
      running = null;
      stopHearingRevocations();
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drain = setTimeout(() => server.closeAllConnections(), options.drainMs ?? 10_000);
      await closed;
      clearTimeout(drain);
    },
  };
}

export type App = ReturnType<typeof buildApp>;
