/** An app's integration secrets (Segment shared secret, Stripe signing secret), sealed at rest. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SecretBox } from '../../secret-box.ts';
import { Integrations } from './integrations.entity.ts';

export interface IntegrationsInput {
  /** A new secret; '' removes it; null or absent keeps it. */
  segmentSharedSecret?: string | null;
  stripeSigningSecret?: string | null;
}

export function createIntegrations({ secrets }: { secrets: SecretBox }) {
  return {
    /** Which secrets are set afterwards (never the secrets). */
    async update(em: EntityManager, appId: string, input: IntegrationsInput): Promise<{ segmentSharedSecretSet: boolean; stripeSigningSecretSet: boolean }> {
      const row = (await em.findOne(Integrations, { appId })) ?? em.create(Integrations, { appId, segmentSharedSecret: null, stripeSigningSecret: null });
      for (const field of ['segmentSharedSecret', 'stripeSigningSecret'] as const) {
        const value = input[field];
        if (value != null) row[field] = value === '' ? null : secrets.seal(value);
      }
      await em.flush();
      return { segmentSharedSecretSet: row.segmentSharedSecret !== null, stripeSigningSecretSet: row.stripeSigningSecret !== null };
    },
  };
}

export type IntegrationsService = ReturnType<typeof createIntegrations>;
