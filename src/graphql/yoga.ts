/**
 * GraphQL over HTTP: Yoga with the Pothos schema, the guards (limits, CSRF, suggestions),
 * GraphiQL served without internet, and a context per request: the services, a fork of the
 * entity manager, and the caller's credentials checked afresh.
 */
import { createYoga, type YogaInitialContext } from 'graphql-yoga';
import type { Auth, GraphQLContext, Services } from './context.ts';
import { useGraphQLGuards } from './guards.ts';
import { schema } from './schema.ts';

const DEFAULT_QUERY = /* GraphQL */ `
  # Trialcast: trial users' lifecycle segments, live.
  # Send your token in the Headers tab: {"Authorization": "Bearer <admin token or app API key>"}

  query MyApps {
    apps {
      id
      name
      createdAt
    }
  }

  # Watch transitions as they happen (runs over WebSocket):
  # subscription Live($appId: ID!) {
  #   segmentChanged(appId: $appId) {
  #     sequence trial { userId email } oldSegment newSegment reason occurredAt
  #   }
  # }
`;

export function createGraphQLHandler(services: Services, options: { production: boolean; introspection: boolean }) {
  let graphiqlPage: Promise<string> | undefined;
  return createYoga<{ wsAuth?: Auth }, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    plugins: useGraphQLGuards({ introspection: options.introspection }),
    // The guards limit the body's size (a megabyte) without Yoga's per-request stream.
    maxRequestBodySize: false,
    graphiql: options.production || !options.introspection ? false : { subscriptionsProtocol: 'WS', defaultQuery: DEFAULT_QUERY, title: 'Trialcast' },
    // Yoga's default page loads GraphiQL from unpkg.com: blank where the browser has no internet
    // (air-gapped installs, strict proxies). This page carries its scripts (about 9 MB, loaded
    // only when GraphiQL is on, rendered once: its options never change).
    renderGraphiQL: (graphiqlOptions) =>
      (graphiqlPage ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(graphiqlOptions))),
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
}

export type GraphQLHandler = ReturnType<typeof createGraphQLHandler>;
