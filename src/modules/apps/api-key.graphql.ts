/**
 * An app's GraphQL API keys: created (the secret shown once, only its hash stored), listed
 * without secrets, revoked. An app key manages its own app's keys; the admin any app's.
 */
import { builder } from '../../graphql/builder.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import { z } from 'zod';
import { displayName, payloadType } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { mayAccess, requireApp, requireCaller } from '../../graphql/context.ts';
import { notifyKeyRevoked } from './api-key-revocations.ts';
import { hashSecret, newId, newSecret } from '../../ids.ts';
import { ApiKey, type IApiKey } from './api-key.entity.ts';
import { App } from './app.entity.ts';

const ApiKeyRef = builder.objectRef<IApiKey>('ApiKey').implement({
  interfaces: [NodeRef],
  description: 'A bearer key for one app (its secret is shown only when created)',
  fields: (t) => ({
    id: t.exposeID('id'),
    appId: t.id({ resolve: (key) => key.app.id }),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKeyRef],
    description: "The app's API keys, revoked ones included, oldest first",
    args: { appId: t.arg.id({ required: true }) },
    resolve: async (_root, { appId }, { auth, em }) => {
      requireApp(auth, appId);
      return em.find(ApiKey, { app: appId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    },
  }),
);

const ApiKeyPayload = payloadType<{ apiKey?: IApiKey; secret?: string; errors: FieldError[] }>('ApiKeyPayload', (t) => ({
    apiKey: t.field({ type: ApiKeyRef, nullable: true, resolve: (payload) => payload.apiKey ?? null }),
    secret: t.exposeString('secret', { nullable: true, description: 'The bearer token; shown once, on creation' }),
}));

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: ApiKeyPayload,
    args: {
      input: t.arg({
        type: builder.inputType('CreateApiKeyInput', {
          fields: (f) => ({ appId: f.id({ required: true }), name: f.string({ required: true }) }),
          validate: z.looseObject({ name: displayName }),
        }),
        required: true,
      }),
    },
    resolve: async (_root, { input }, { auth, em }) => {
      const appId = input.appId;
      requireApp(auth, appId);
      const name = input.name.trim();
      const app = await em.findOne(App, { id: appId });
      if (!app) return { errors: [{ field: 'appId', message: `no app ${appId}`, code: 'NOT_FOUND' }] };
      const secret = newSecret('tck');
      const apiKey = em.create(ApiKey, { id: newId('key'), app, name, tokenHash: hashSecret(secret) });
      await em.flush();
      return { apiKey, secret, errors: [] };
    },
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyPayload,
    description: 'The key stops working at once, on every API process',
    args: {
      input: t.arg({ type: builder.inputType('RevokeApiKeyInput', { fields: (f) => ({ apiKeyId: f.id({ required: true }) }) }), required: true }),
    },
    resolve: async (_root, { input }, { auth, em, services }) => {
      requireCaller(auth);
      const apiKey = await em.findOne(ApiKey, { id: input.apiKeyId });
      // Another app's key is answered as one that does not exist: ids do not tell what exists.
      if (!apiKey || !mayAccess(auth, apiKey.app.id)) return { errors: [{ field: 'apiKeyId', message: `no API key ${input.apiKeyId}`, code: 'NOT_FOUND' }] };
      if (!apiKey.revokedAt) {
        const revokedAt = new Date();
        await em.transactional(async (tx) => {
          await tx.nativeUpdate(ApiKey, { id: apiKey.id, revokedAt: null }, { revokedAt });
          await notifyKeyRevoked(tx, { keyId: apiKey.id, appId: apiKey.app.id });
        });
        // This process stops accepting it now; the notice closes its sockets here and elsewhere.
        services.credentials.forget(apiKey.id);
        await em.refresh(apiKey);
      }
      return { apiKey, errors: [] };
    },
  }),
);

registerNode('key_', {
  type: 'ApiKey',
  load: async (id, { em }) => {
    const key = await em.findOne(ApiKey, { id });
    return key && { id, appId: key.app.id, node: key };
  },
});
