import { builder } from '../../graphql/builder.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import { z } from 'zod';
import { payloadType, displayName } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { requireAdmin, requireApp } from '../../graphql/context.ts';
import { App, type IApp } from './app.entity.ts';
import { createApp, type CreatedApp } from './apps.service.ts';

export const AppRef = builder.objectRef<IApp>('App').implement({
  interfaces: [NodeRef],
  description: 'A product whose trials Trialcast tracks',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('app', (t) =>
  t.field({
    type: AppRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, { auth, em }) => {
      requireApp(auth, id);
      return em.findOne(App, { id: id });
    },
  }),
);

builder.queryField('apps', (t) =>
  t.field({
    type: [AppRef],
    description: 'Every app for the admin token; its own app for an app key',
    resolve: async (_root, _args, { auth, em }) => {
      if (auth.kind === 'app') return em.find(App, { id: auth.appId });
      requireAdmin(auth);
      return em.find(App, {}, { orderBy: { createdAt: 'asc' } });
    },
  }),
);

type CreateAppPayload = Partial<CreatedApp> & { errors: FieldError[] };

const CreateAppInput = builder.inputType('CreateAppInput', {
  fields: (t) => ({ name: t.string({ required: true }) }),
  validate: z.looseObject({ name: displayName }),
});

builder.mutationField('createApp', (t) =>
  t.field({
    type: payloadType<CreateAppPayload>('CreateAppPayload', (p) => ({
      app: p.field({ type: AppRef, nullable: true, resolve: (payload) => payload.app ?? null }),
      writeKey: p.exposeString('writeKey', { nullable: true, description: 'Ingest key (Segment write key); shown once' }),
      serverToken: p.exposeString('serverToken', { nullable: true, description: 'Server-to-server token; shown once' }),
      apiKey: p.exposeString('apiKey', { nullable: true, description: "The app's GraphQL bearer key; shown once" }),
    })),
    args: { input: t.arg({ type: CreateAppInput, required: true }) },
    resolve: async (_root, { input }, { auth, em }) => {
      requireAdmin(auth);
      return { ...(await createApp(em, input.name.trim())), errors: [] };
    },
  }),
);

registerNode('app_', {
  type: 'App',
  load: async (id, { em }) => {
    const app = await em.findOne(App, { id });
    return app && { id, appId: app.id, node: app };
  },
});
