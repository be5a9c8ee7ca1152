import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A company's product whose trials Trialcast tracks: the unit of tenancy. */
export const App = defineEntity({
  name: 'App',
  tableName: 'apps',
  properties: {
    id: p.string().primary(),
    name: p.string(),
    /** Ingest credentials are looked up by hash; the secrets themselves are shown once. */
    writeKeyHash: p.string().unique(),
    serverTokenHash: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IApp = InferEntity<typeof App>;
