/** An app's integration secrets (Segment shared secret, Stripe signing secret), sealed at rest. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SecretBox } from '../../secret-box.ts';
import { Integrations, type IIntegrations } from './integrations.entity.ts';

export interface IntegrationsInput {
  /** A new secret; '' removes it; null or absent keeps it. */
  segmentSharedSecret?: string | null;
  stripeSigningSecret?: string | null;
}

export interface IntegrationsState {
  segmentSharedSecretSet: boolean;
  stripeSigningSecretSet: boolean;
}

const stateOf = (row: IIntegrations | null): IntegrationsState => ({
  segmentSharedSecretSet: (row?.segmentSharedSecret ?? null) !== null,
  stripeSigningSecretSet: (row?.stripeSigningSecret ?? null) !== null,
});

export function createIntegrations({ secrets }: { secrets: SecretBox }) {
  return {
    /** Which secrets are set (never the secrets). */
    async state(em: EntityManager, appId: string): Promise<IntegrationsState> {
      return stateOf(await em.findOne(Integrations, { appId }));
    },
    /** Which secrets are set afterwards (never the secrets). */
    async update(em: EntityManager, appId: string, input: IntegrationsInput): Promise<IntegrationsState> {
      const row = (await em.findOne(Integrations, { appId })) ?? em.create(Integrations, { appId, segmentSharedSecret: null, stripeSigningSecret: null });
      for (const field of ['segmentSharedSecret', 'stripeSigningSecret'] as const) {
        const value = input[field];
        if (value != null) row[field] = value === '' ? null : secrets.seal(value);
      }
      await em.flush();
      return stateOf(row);
    },
  };
}

export type IntegrationsService = ReturnType<typeof createIntegrations>;
