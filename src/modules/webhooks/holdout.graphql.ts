/** Holdouts per endpoint: start and stop one, its running experiment on the endpoint, and its report. */
import { builder } from '../../graphql/builder.ts';
import { payloadType } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { verdictOf, type GroupReport, type HoldoutReport } from '../../core/holdout-report.ts';
import { callersEndpoint, EndpointRef, noEndpoint } from './endpoint.graphql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { IHoldoutExperiment } from './holdout.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';
import { currentHoldout, MAX_HOLDOUT_PERCENT, MIN_HOLDOUT_PERCENT, reportOf, runningHoldout, startHoldout, stopHoldout } from './holdouts.ts';

const HoldoutExperimentRef = builder.objectRef<IHoldoutExperiment>('HoldoutExperiment').implement({
  description: "A share of trials whose webhooks to an endpoint are recorded but never sent, to measure what the endpoint's nudges change",
  fields: (t) => ({
    id: t.exposeID('id'),
    percent: t.exposeInt('percent', { description: 'The share held out; fixed while it runs' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    stoppedAt: t.expose('stoppedAt', { type: 'DateTime', nullable: true }),
    running: t.boolean({ resolve: (experiment) => experiment.stoppedAt === null }),
  }),
});

const HoldoutGroupRef = builder.objectRef<GroupReport>('HoldoutGroup').implement({
  description: 'Trials of one group that had a delivery planned for the endpoint since the experiment started',
  fields: (t) => ({
    trials: t.exposeInt('trials'),
    converted: t.exposeInt('converted'),
    expired: t.exposeInt('expired'),
    open: t.exposeInt('open', { description: 'Still running: not counted in the rate' }),
    conversionRate: t.exposeFloat('conversionRate', { nullable: true, description: 'converted ÷ (converted + expired)' }),
  }),
});

const HoldoutReportRef = builder.objectRef<HoldoutReport & { experiment: IHoldoutExperiment }>('HoldoutReport').implement({
  description:
    'Exposed against held-out trials: conversion among the finished, the difference with its 95 % interval (Newcombe), and whether there is enough data',
  fields: (t) => ({
    experiment: t.field({ type: HoldoutExperimentRef, resolve: (report) => report.experiment }),
    exposed: t.field({ type: HoldoutGroupRef, resolve: (report) => report.exposed }),
    heldOut: t.field({ type: HoldoutGroupRef, resolve: (report) => report.heldOut }),
    difference: t.exposeFloat('difference', { nullable: true, description: 'Exposed rate − held-out rate (absolute)' }),
    low: t.exposeFloat('low', { nullable: true }),
    high: t.exposeFloat('high', { nullable: true }),
    pValue: t.exposeFloat('pValue', { nullable: true, description: 'Two-sided, pooled two-proportion z test' }),
    relativeLift: t.exposeFloat('relativeLift', { nullable: true, description: 'Exposed rate ÷ held-out rate − 1' }),
    neededPerGroup: t.exposeInt('neededPerGroup', {
      nullable: true,
      description: 'Finished trials a group needs to detect the difference seen (80 % power, 5 % two-sided)',
    }),
    enoughData: t.exposeBoolean('enoughData'),
    verdict: t.string({ description: 'The report in a sentence', resolve: verdictOf }),
  }),
});

/** The report of the endpoint's running experiment, else its latest; null before any. */
async function reportFor(em: EntityManager, endpoint: IWebhookEndpoint) {
  const experiment = await currentHoldout(em, endpoint);
  return experiment && { ...(await reportOf(em, experiment.id)), experiment };
}

builder.objectFields(EndpointRef, (t) => ({
  holdout: t.field({
    type: HoldoutExperimentRef,
    nullable: true,
    description: 'The running holdout, if any',
    resolve: (endpoint, _args, { em }) => runningHoldout(em, endpoint),
  }),
}));

builder.queryField('holdoutReport', (t) =>
  t.field({
    type: HoldoutReportRef,
    nullable: true,
    description: "The endpoint's running holdout's report, else its latest one's; null when it never had one",
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: async (_root, { endpointId }, ctx) => {
      const endpoint = await callersEndpoint(ctx, endpointId);
      return endpoint && reportFor(ctx.em, endpoint);
    },
  }),
);

const HoldoutPayload = payloadType<{ experiment?: IHoldoutExperiment; errors: FieldError[] }>('HoldoutPayload', (t) => ({
  experiment: t.field({ type: HoldoutExperimentRef, nullable: true, resolve: (payload) => payload.experiment ?? null }),
}));

const StartHoldoutInput = builder.inputType('StartHoldoutInput', {
  fields: (t) => ({
    endpointId: t.id({ required: true }),
    percent: t.int({ required: true, description: `${MIN_HOLDOUT_PERCENT} to ${MAX_HOLDOUT_PERCENT}: the share of trials held out` }),
  }),
});
const StopHoldoutInput = builder.inputType('StopHoldoutInput', { fields: (t) => ({ endpointId: t.id({ required: true }) }) });

builder.mutationField('startHoldout', (t) =>
  t.field({
    type: HoldoutPayload,
    description:
      'Holds a share of trials out of the endpoint: their webhooks to it are recorded (status held_out) and never sent. One at a time per endpoint; a new one after stopHoldout is a new experiment',
    args: { input: t.arg({ type: StartHoldoutInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await callersEndpoint(ctx, input.endpointId);
      return endpoint ? startHoldout(ctx.em, endpoint, input.percent) : { errors: noEndpoint(input.endpointId) };
    },
  }),
);

builder.mutationField('stopHoldout', (t) =>
  t.field({
    type: HoldoutPayload,
    description: 'Ends the running holdout: from now on every trial is sent to; its report stays',
    args: { input: t.arg({ type: StopHoldoutInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await callersEndpoint(ctx, input.endpointId);
      return endpoint ? stopHoldout(ctx.em, endpoint) : { errors: noEndpoint(input.endpointId) };
    },
  }),
);
