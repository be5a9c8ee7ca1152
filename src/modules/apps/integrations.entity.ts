import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** An app's inbound integration secrets, sealed (see SecretBox); never returned by the API. */
export const Integrations = defineEntity({
  name: 'Integrations',
  tableName: 'app_integrations',
  properties: {
    appId: p.string().primary(),
    segmentSharedSecret: p.text().nullable(),
    stripeSigningSecret: p.text().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type IIntegrations = InferEntity<typeof Integrations>;
