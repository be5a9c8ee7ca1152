import type { EntityManager } from '@mikro-orm/postgresql';
import { hashSecret, newId, newSecret } from '../../ids.ts';
import { App, type IApp } from './app.entity.ts';
import { ApiKey } from './api-key.entity.ts';

export interface CreatedApp {
  app: IApp;
  /** Shown once; only hashes are stored. */
  writeKey: string;
  serverToken: string;
  apiKey: string;
}

/** A new app with its ingest credentials and a first GraphQL API key. */
export async function createApp(em: EntityManager, name: string): Promise<CreatedApp> {
  const writeKey = newSecret('wk');
  const serverToken = newSecret('st');
  const apiKey = newSecret('tck');
  const app = em.create(App, {
    id: newId('app'),
    name,
    writeKeyHash: hashSecret(writeKey),
    serverTokenHash: hashSecret(serverToken),
  });
  em.create(ApiKey, { id: newId('key'), app, name: 'default', tokenHash: hashSecret(apiKey) });
  await em.flush();
  return { app, writeKey, serverToken, apiKey };
}
