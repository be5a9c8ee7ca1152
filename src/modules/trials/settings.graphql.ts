import { builder } from '../../graphql/builder.ts';
import { payloadType } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { requireApp } from '../../graphql/context.ts';
import { settingsInputRules, type SettingsView } from './settings.service.ts';
import type { AhaRule } from '../../core/aha-rules.ts';

const AhaRuleRef = builder.objectRef<AhaRule>('AhaRule').implement({
  description: 'An aha moment: this event (with property = equals, if given) seen count times',
  fields: (t) => ({
    event: t.exposeString('event'),
    property: t.exposeString('property', { nullable: true, description: 'Dotted path in the properties, e.g. plan.tier' }),
    equals: t.exposeString('equals', { nullable: true }),
    count: t.int({ resolve: (rule) => rule.count ?? 1 }),
  }),
});

const AhaRuleInput = builder.inputType('AhaRuleInput', {
  fields: (t) => ({ event: t.string({ required: true }), property: t.string(), equals: t.string(), count: t.int() }),
});

const SegmentSettingsRef = builder.objectRef<SettingsView>('SegmentSettings').implement({
  description: "An app's segment rules; durations are ISO-8601 (P3D, PT30S)",
  fields: (t) => ({
    appId: t.exposeID('appId'),
    ahaEvents: t.exposeStringList('ahaEvents', { description: 'Event names that show the user found value' }),
    ahaRules: t.field({ type: [AhaRuleRef], resolve: (settings) => settings.ahaRules }),
    conversionEvents: t.exposeStringList('conversionEvents', { description: 'Event names that mean the user converted' }),
    eventAllowList: t.exposeStringList('eventAllowList', { nullable: true, description: 'Only these events count for segments (all are stored and counted)' }),
    allowedOrigins: t.exposeStringList('allowedOrigins', {
      nullable: true,
      description: 'Only pages on these origins may send events from a browser (null: any origin)',
    }),
    rateLimitPerSecond: t.exposeInt('rateLimitPerSecond', { description: 'Events a second per API process; over it, 429 with Retry-After' }),
    accountAhaMembers: t.exposeInt('accountAhaMembers', {
      description: "Members of an account who must reach aha before the account's trial moves to found value (1: the first one)",
    }),
    inactivityAfter: t.exposeString('inactivityAfter', { description: 'A user is quiet this long after their last activity' }),
    endingSoonBefore: t.exposeString('endingSoonBefore', { description: 'The trial is ending soon this long before its end' }),
    lastChanceBefore: t.exposeString('lastChanceBefore', { description: 'Last chance this long before the end' }),
  }),
});

builder.queryField('segmentSettings', (t) =>
  t.field({
    type: SegmentSettingsRef,
    args: { appId: t.arg.id({ required: true }) },
    resolve: async (_root, { appId }, { auth, em, services }) => {
      requireApp(auth, appId);
      return services.settings.load(em, appId);
    },
  }),
);

export const UpdateSegmentSettingsInput = builder.inputType('UpdateSegmentSettingsInput', {
  description: 'Only the fields given change',
  fields: (t) => ({
    appId: t.id({ required: true }),
    ahaEvents: t.stringList(),
    ahaRules: t.field({ type: [AhaRuleInput] }),
    conversionEvents: t.stringList(),
    eventAllowList: t.stringList({ description: 'An empty list removes it' }),
    allowedOrigins: t.stringList({ description: 'Origins such as https://app.example.com; an empty list allows every origin' }),
    rateLimitPerSecond: t.int(),
    accountAhaMembers: t.int({ description: 'Account trials: members who must reach aha (1 to 1000; default 1)' }),
    inactivityAfter: t.string(),
    endingSoonBefore: t.string(),
    lastChanceBefore: t.string(),
  }),
  validate: settingsInputRules,
});

type Payload = { settings?: SettingsView; errors: FieldError[] };

builder.mutationField('updateSegmentSettings', (t) =>
  t.field({
    type: payloadType<Payload>('UpdateSegmentSettingsPayload', (p) => ({
      settings: p.field({ type: SegmentSettingsRef, nullable: true, resolve: (payload) => payload.settings ?? null }),
    })),
    description: 'Changes the rules and re-evaluates the open trials of the app',
    args: { input: t.arg({ type: UpdateSegmentSettingsInput, required: true }) },
    resolve: async (_root, { input }, { auth, em, services }) => {
      const appId = input.appId;
      requireApp(auth, appId);
      const { appId: _id, ...fields } = input;
      return services.settings.update(em, appId, fields);
    },
  }),
);
