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
import { createApiKey, revokeApiKey } from './api-keys.service.ts';
import { ApiKey, type IApiKey } from './api-key.entity.ts';

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
      return createApiKey(em, appId, input.name);
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
      await revokeApiKey(em, apiKey);
      // This process stops accepting it now; the notice closes its sockets here and elsewhere.
      services.credentials.forget(apiKey.id);
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
