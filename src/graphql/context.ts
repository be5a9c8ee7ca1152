import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../logger.ts';
import type { SecretBox } from '../secret-box.ts';
import { hashSecret } from '../ids.ts';
import { ApiKey } from '../modules/apps/api-key.entity.ts';
import type { FeedChannel } from '../infra/pg-feed.ts';
import type { ISegmentChange } from '../modules/trials/segment-change.entity.ts';
import type { OperationalEvent } from '../modules/webhooks/operational-events.ts';
import type { IDeliveryAttempt } from '../modules/webhooks/webhook-delivery.entity.ts';

export type Auth = { kind: 'admin' } | { kind: 'app'; appId: string } | { kind: 'anonymous' };

/** What resolvers reach for, built once per process. */
export interface Services {
  orm: MikroORM;
  temporal: Client;
  taskQueue: string;
  segmentChanges: FeedChannel<ISegmentChange>;
  operationalEvents: FeedChannel<OperationalEvent>;
  deliveryAttempts: FeedChannel<IDeliveryAttempt>;
  adminToken: string;
  webhookAllowPrivateTargets: boolean;
  secrets: SecretBox;
  logger: Logger;
}

export interface GraphQLContext {
  services: Services;
  /** A fork per request (and per subscription event). */
  em: EntityManager;
  auth: Auth;
}

function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Resolves `Bearer <token>` to the admin or to one app; anything else is anonymous. */
export async function authenticate(authorization: unknown, services: Services): Promise<Auth> {
  if (typeof authorization !== 'string') return { kind: 'anonymous' };
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) return { kind: 'anonymous' };
  const token = match[1];
  if (sameSecret(token, services.adminToken)) return { kind: 'admin' };
  const key = await services.orm.em
    .fork()
    .findOne(ApiKey, { tokenHash: hashSecret(token), revokedAt: null }, { fields: ['app'] });
  return key ? { kind: 'app', appId: key.app.id } : { kind: 'anonymous' };
}

export function requireAdmin(auth: Auth): void {
  if (auth.kind === 'admin') return;
  throw auth.kind === 'anonymous' ? unauthenticated() : forbidden('only the admin token can do this');
}

/** The caller may act on this app: the admin, or this app's own key. */
export function requireApp(auth: Auth, appId: string): void {
  if (auth.kind === 'admin' || (auth.kind === 'app' && auth.appId === appId)) return;
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
