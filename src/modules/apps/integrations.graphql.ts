import { z } from 'zod';
import { builder } from '../../graphql/builder.ts';
import { payloadType } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { requireApp } from '../../graphql/context.ts';
import type { IntegrationsState } from './integrations.service.ts';

const UpdateIntegrationsInput = builder.inputType('UpdateIntegrationsInput', {
  description: 'A secret left out stays as it is; an empty string removes it',
  fields: (t) => ({
    appId: t.id({ required: true }),
    segmentSharedSecret: t.string({ description: "The Segment Webhooks destination's shared secret (X-Signature)" }),
    stripeSigningSecret: t.string({ description: "The Stripe endpoint's signing secret (whsec_…)" }),
  }),
  validate: z.looseObject({
    segmentSharedSecret: z.string().max(500, 'segmentSharedSecret must be at most 500 characters').nullish(),
    stripeSigningSecret: z.string().max(500, 'stripeSigningSecret must be at most 500 characters').nullish(),
  }),
});

type Payload = { segmentSharedSecretSet?: boolean; stripeSigningSecretSet?: boolean; errors: FieldError[] };

const IntegrationsRef = builder.objectRef<IntegrationsState>('Integrations').implement({
  description: "Which of the app's integration secrets are set; the secrets themselves are never returned",
  fields: (t) => ({
    segmentSharedSecretSet: t.exposeBoolean('segmentSharedSecretSet'),
    stripeSigningSecretSet: t.exposeBoolean('stripeSigningSecretSet'),
  }),
});

builder.queryField('integrations', (t) =>
  t.field({
    type: IntegrationsRef,
    args: { appId: t.arg.id({ required: true }) },
    resolve: (_root, { appId }, { auth, em, services }) => {
      requireApp(auth, appId);
      return services.integrations.state(em, appId);
    },
  }),
);

builder.mutationField('updateIntegrations', (t) =>
  t.field({
    type: payloadType<Payload>(
      'UpdateIntegrationsPayload',
      (p) => ({
        segmentSharedSecretSet: p.exposeBoolean('segmentSharedSecretSet', { nullable: true }),
        stripeSigningSecretSet: p.exposeBoolean('stripeSigningSecretSet', { nullable: true }),
      }),
      'Which secrets are set; the secrets themselves are never returned',
    ),
    args: { input: t.arg({ type: UpdateIntegrationsInput, required: true }) },
    resolve: async (_root, { input }, { auth, em, services }) => {
      const appId = input.appId;
      requireApp(auth, appId);
      return { ...(await services.integrations.update(em, appId, input)), errors: [] };
    },
  }),
);
