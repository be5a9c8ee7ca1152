/** An app's GraphQL API keys: created with a secret shown once (only its hash stored), revoked everywhere at once. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldError } from '../../core/field-error.ts';
import { hashSecret, newId, newSecret } from '../../ids.ts';
import { ApiKey, type IApiKey } from './api-key.entity.ts';
import { notifyKeyRevoked } from './api-key-revocations.ts';
import { App } from './app.entity.ts';

export async function createApiKey(em: EntityManager, appId: string, name: string): Promise<{ apiKey?: IApiKey; secret?: string; errors: FieldError[] }> {
  const app = await em.findOne(App, { id: appId });
  if (!app) return { errors: [{ field: 'appId', message: `no app ${appId}`, code: 'NOT_FOUND' }] };
  const secret = newSecret('tck');
  const apiKey = em.create(ApiKey, { id: newId('key'), app, name: name.trim(), tokenHash: hashSecret(secret) });
  await em.flush();
  return { apiKey, secret, errors: [] };
}

/** Revoked in the transaction that tells every API process (which forget the key and close its sockets). */
export async function revokeApiKey(em: EntityManager, apiKey: IApiKey): Promise<IApiKey> {
  if (apiKey.revokedAt) return apiKey;
  const revokedAt = new Date();
  await em.transactional(async (tx) => {
    await tx.nativeUpdate(ApiKey, { id: apiKey.id, revokedAt: null }, { revokedAt });
    await notifyKeyRevoked(tx, { keyId: apiKey.id, appId: apiKey.app.id });
  });
  await em.refresh(apiKey);
  return apiKey;
}
