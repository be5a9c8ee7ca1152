/**
 * GraphQL over WebSocket (graphql-ws): every operation shows its credentials again (the
 * connection's, or its own in `extensions.headers`, as GraphiQL sends them), a bad operation
 * gets its own error while the socket lives on, and a revoked key's sockets are closed (4403)
 * on every API process, the revocation heard on the live feed.
 */
import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Metrics } from '../infra/metrics.ts';
import type { Services } from './context.ts';
import { checkOperationParams } from './guards.ts';
import type { GraphQLHandler } from './yoga.ts';

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

export function serveGraphQLOverWebSocket(wss: WebSocketServer, yoga: GraphQLHandler, services: Services, metrics: Metrics) {
  const sockets = new Map<WebSocket, SocketState>();
  const forbid = (socket: WebSocket, why: string) => socket.close(4403, `Forbidden: ${why}`);
  const noLongerValid = () => new GraphQLError('these credentials are no longer valid (the API key was revoked)', { extensions: { code: 'UNAUTHENTICATED' } });
  // A revoked key's sockets are closed at once, in every API process (the notice reaches each).
  const stopHearingRevocations = services.feeds.keyRevocations.listen(({ keyId }) => {
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
        const {
          schema: enveloped,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
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

  return { recheckSockets, stopHearingRevocations };
}
