import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkOperationParams, useGraphQLGuards } from './graphql/guards.ts';
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import { StartupError } from './errors.ts';
import { sendJson, type RouteHandler } from './infra/http-body.ts';
import { createMetrics } from './infra/metrics.ts';
import { schema } from './graphql/schema.ts';
import type { Auth, GraphQLContext, Services } from './graphql/context.ts';

export interface ServerOptions {
  host: string;
  port: number;
  production: boolean;
  introspection: boolean;
  /** How long in-flight requests get to finish on stop. */
  drainMs?: number;
}

export interface RunningApp {
  url: string;
  port: number;
}

const DEFAULT_QUERY = /* GraphQL */ `# Trialcast: trial users' lifecycle segments, live.
# Send your token in the Headers tab: {"Authorization": "Bearer <admin token or app API key>"}

query MyApps {
  apps { id name createdAt }
}

# Watch transitions as they happen (runs over WebSocket):
# subscription Live($appId: ID!) {
#   segmentChanged(appId: $appId) {
#     sequence trial { userId email } oldSegment newSegment reason occurredAt
#   }
# }
`;


const ANONYMOUS_SOCKET_MS = 10_000;

/** What one graphql-ws socket has presented: checked again on every operation, closed when a key is revoked. */
interface SocketState {
  /** connection_init's credentials (undefined: each operation brings its own). */
  authorization: unknown;
  /** Every API key that authenticated something on this socket, by id, with what was presented. */
  keys: Map<string, unknown>;
  unauthenticatedTimer?: NodeJS.Timeout;
}

/** The `authorization` entry of connection params or headers, whatever its case (GraphiQL sends `Authorization`). */
function authorizationIn(record: unknown): unknown {
  if (typeof record !== 'object' || record === null) return undefined;
  const key = Object.keys(record).find((name) => name.toLowerCase() === 'authorization');
  return key === undefined ? undefined : (record as Record<string, unknown>)[key];
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
  const metrics = createMetrics();
  let graphiqlPage: Promise<string> | undefined;
  const yoga = createYoga<{ wsAuth?: Auth }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    plugins: useGraphQLGuards({ introspection: options.introspection }),
    graphiql: options.production || !options.introspection ? false : { subscriptionsProtocol: 'WS', defaultQuery: DEFAULT_QUERY, title: 'Trialcast' },
    // Yoga's default page loads GraphiQL from unpkg.com: blank where the browser has no internet
    // (air-gapped installs, strict proxies). This page carries its scripts (about 9 MB, loaded
    // only when GraphiQL is on, rendered once: its options never change).
    renderGraphiQL: (graphiqlOptions) => (graphiqlPage ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(graphiqlOptions))),
    logging: {
      debug: (...args) => services.logger.debug({ args }, 'graphql'),
      info: (...args) => services.logger.info({ args }, 'graphql'),
      warn: (...args) => services.logger.warn({ args }, 'graphql'),
      error: (...args) => services.logger.error({ args }, 'graphql'),
    },
    context: async (initial: YogaInitialContext & { wsAuth?: Auth }) => ({
      services,
      em: services.orm.em.fork(),
      auth: initial.wsAuth ?? (await services.credentials.authenticate(initial.request.headers.get('authorization'))),
    }),
  });

  const routes: Record<string, RouteHandler> = {
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      const { ready, checks } = await readiness(services);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    },
    '/metrics': async (_req, res) => {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
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
    // Exact routes first; a route ending in '/' also serves the paths below it (/hooks/stripe/{appId}).
    const prefix = routes[path] ? path : Object.keys(routes).find((candidate) => candidate.endsWith('/') && path.startsWith(candidate) && path.length > candidate.length);
    const handler = prefix ? routes[prefix] : undefined;
    const route = prefix ? (prefix === path ? path : `${prefix}:id`) : 'unmatched';
    const endTimer = metrics.httpDuration.startTimer({ route });
    const started = performance.now();
    res.once('finish', () => {
      endTimer();
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      // The route, never the path or query: both can carry credentials (/hooks/segment/{writeKey}, ?token=).
      services.logger.info({ method: req.method, route, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    });
    try {
      if (!handler) return sendJson(res, 404, { error: `no route ${req.method} ${path}` });
      await handler(req, res);
    } catch (error) {
      // The route only: the path can hold a write key (/hooks/segment/{writeKey}).
      services.logger.error({ err: error, method: req.method, route }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  });

  // noServer: the listener's errors (a port in use) stay ours to report, not ws's.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/graphql') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
  });
  const sockets = new Map<WebSocket, SocketState>();
  const forbid = (socket: WebSocket, why: string) => socket.close(4403, `Forbidden: ${why}`);
  const noLongerValid = () => new GraphQLError('these credentials are no longer valid (the API key was revoked)', { extensions: { code: 'UNAUTHENTICATED' } });
  // A revoked key's sockets are closed at once, in every API process (the notice reaches each).
  const stopHearingRevocations = services.keyRevocations.listen(({ keyId }) => {
    services.credentials.forget(keyId);
    for (const [socket, state] of sockets) if (state.keys.has(keyId)) forbid(socket, 'API key revoked');
  });

  useServer<Record<string, unknown> | undefined, { state?: SocketState }>(
    {
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
      onConnect: async (ctx) => {
        const authorization = authorizationIn(ctx.connectionParams);
        const auth = await services.credentials.authenticate(authorization);
        if (authorization !== undefined && auth.kind === 'anonymous') return false; // closes with 4403 Forbidden
        const state: SocketState = { authorization, keys: new Map() };
        if (auth.kind === 'app') state.keys.set(auth.keyId, authorization);
        // No credentials in connection_init: GraphiQL sends its Headers tab with each operation
        // instead (in extensions.headers), so operations authenticate themselves; a socket on
        // which none did within 10 s is closed.
        if (auth.kind === 'anonymous') state.unauthenticatedTimer = setTimeout(() => forbid(ctx.extra.socket, 'no credentials'), ANONYMOUS_SOCKET_MS);
        ctx.extra.state = state;
        sockets.set(ctx.extra.socket, state);
        metrics.wsConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        clearTimeout(ctx.extra.state?.unauthenticatedTimer);
        sockets.delete(ctx.extra.socket);
      },
      onSubscribe: async (ctx, _id, params) => {
        // onConnect set it: no operation comes before the connection is acknowledged.
        const state = ctx.extra.state!;
        // Every operation shows its credentials again: the connection's, or its own.
        const operationAuthorization = authorizationIn((params.extensions as { headers?: unknown } | undefined)?.headers);
        const presented = operationAuthorization ?? state.authorization;
        const auth = await services.credentials.authenticate(presented);
        if (operationAuthorization === undefined && presented !== undefined && auth.kind === 'anonymous') {
          forbid(ctx.extra.socket, 'API key revoked');
          return [noLongerValid()];
        }
        if (auth.kind === 'app') state.keys.set(auth.keyId, presented);
        if (auth.kind !== 'anonymous') clearTimeout(state.unauthenticatedTimer);
        const paramsError = checkOperationParams(params);
        if (paramsError) return [paramsError];
        const { schema: enveloped, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          wsAuth: auth,
        });
        // A bad document is this operation's error; the socket and its other operations live on.
        let document: DocumentNode;
        try {
          document = parse(params.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError(`could not parse the document: ${(error as Error).message}`)];
        }
        const errors = validate(enveloped, document);
        if (errors.length) return errors;
        return {
          schema: enveloped,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );

  /** After missed notices: every socket's keys are checked again, and those no longer valid closed. */
  async function recheckSockets(): Promise<void> {
    services.credentials.clear();
    for (const [socket, state] of sockets) {
      for (const authorization of state.keys.values()) {
        if ((await services.credentials.authenticate(authorization)).kind === 'anonymous') {
          forbid(socket, 'API key revoked');
          break;
        }
      }
    }
  }

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
