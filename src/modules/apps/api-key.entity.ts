import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from './app.entity.ts';

/** A GraphQL bearer key that sees one app only. */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.string().primary(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    name: p.string(),
    tokenHash: p.string().unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
  },
});
export type IApiKey = InferEntity<typeof ApiKey>;
