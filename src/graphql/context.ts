import { GraphQLError } from 'graphql';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../logger.ts';
import type { IntegrationsService } from '../modules/apps/integrations.service.ts';
import type { SettingsService } from '../modules/trials/settings.service.ts';
import type { Trials } from '../modules/trials/trials.service.ts';
import type { Webhooks } from '../modules/webhooks/webhooks.service.ts';
import type { KeyRevoked } from '../modules/apps/api-key-revocations.ts';
import { mayAccess, type Auth, type Credentials } from './credentials.ts';
import type { FeedChannel } from '../infra/pg-feed.ts';
import type { ISegmentChange } from '../modules/trials/segment-change.entity.ts';
import type { OperationalEvent } from '../modules/webhooks/catalog.ts';
import type { IDeliveryAttempt } from '../modules/webhooks/webhook-delivery.entity.ts';

export type { Auth } from './credentials.ts';
export { mayAccess };

/** The services resolvers call, built once per process by their factories (src/runtime.ts). */
export interface Services {
  /** For a fork per request, and readiness. */
  orm: MikroORM;
  /** Readiness only: domain services hold their own. */
  temporal: Client;
  credentials: Credentials;
  trials: Trials;
  settings: SettingsService;
  webhooks: Webhooks;
  integrations: IntegrationsService;
  /** What subscriptions listen to (LISTEN/NOTIFY, one connection per process). */
  feeds: {
    segmentChanges: FeedChannel<ISegmentChange>;
    operationalEvents: FeedChannel<OperationalEvent>;
    deliveryAttempts: FeedChannel<IDeliveryAttempt>;
    keyRevocations: FeedChannel<KeyRevoked>;
  };
  logger: Logger;
}

export interface GraphQLContext {
  services: Services;
  /** A fork per request (and per subscription event). */
  em: EntityManager;
  auth: Auth;
}

export function requireAdmin(auth: Auth): void {
  if (auth.kind === 'admin') return;
  throw auth.kind === 'anonymous' ? unauthenticated() : forbidden('only the admin token can do this');
}

/** Any valid token: before an id is looked up, so that an anonymous caller learns nothing of it. */
export function requireCaller(auth: Auth): void {
  if (auth.kind === 'anonymous') throw unauthenticated();
}

/** The caller may act on this app: the admin, or this app's own key. */
export function requireApp(auth: Auth, appId: string): void {
  if (mayAccess(auth, appId)) return;
  throw auth.kind === 'anonymous' ? unauthenticated() : forbidden(`this API key cannot access app ${appId}`);
}

function unauthenticated(): GraphQLError {
  return new GraphQLError('missing or unknown bearer token (Authorization: Bearer <token>)', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}
