/** Conversion drivers: which product events the trials that converted did before converting, more than the others. */
import { builder } from '../../graphql/builder.ts';
import { requireApp } from '../../graphql/context.ts';
import { MIN_GROUP, type ConversionDriver } from '../../core/conversion-drivers.ts';
import { rangeArgs, rangeOf } from './insights.graphql.ts';
import { conversionDrivers } from './insights.service.ts';

const ConversionDriverRef = builder.objectRef<ConversionDriver>('ConversionDriver').implement({
  description:
    'One event name among finished trials: those that did it before their outcome against those that did not. ' +
    "Rates are of the finished (converted ÷ converted and expired); the difference's interval is Newcombe's (95 %)",
  fields: (t) => ({
    event: t.exposeString('event'),
    trialsWith: t.exposeInt('trialsWith', { description: 'Finished trials that did the event before their outcome' }),
    convertedWith: t.exposeInt('convertedWith'),
    trialsWithout: t.exposeInt('trialsWithout'),
    convertedWithout: t.exposeInt('convertedWithout'),
    rateWith: t.exposeFloat('rateWith', { nullable: true }),
    rateWithout: t.exposeFloat('rateWithout', { nullable: true }),
    difference: t.exposeFloat('difference', { nullable: true, description: 'rateWith − rateWithout; null when too few' }),
    low: t.exposeFloat('low', { nullable: true, description: 'The 95 % interval of the difference' }),
    high: t.exposeFloat('high', { nullable: true }),
    pValue: t.exposeFloat('pValue', { nullable: true, description: 'Two-sided, pooled two-proportion z test' }),
    qValue: t.exposeFloat('qValue', {
      nullable: true,
      description: 'Benjamini–Hochberg across the names tested: below 0.05, a driver at a 5 % false-discovery rate',
    }),
    tooFew: t.exposeBoolean('tooFew', { description: `Fewer than ${MIN_GROUP} finished trials did it, or did not: shown, not ranked or tested` }),
  }),
});

const ConversionDriversRef = builder
  .objectRef<{ finishedTrials: number; convertedTrials: number; drivers: ConversionDriver[] }>('ConversionDrivers')
  .implement({
    fields: (t) => ({
      finishedTrials: t.exposeInt('finishedTrials', { description: 'Trials started on the days of the range that converted or expired' }),
      convertedTrials: t.exposeInt('convertedTrials'),
      drivers: t.field({
        type: [ConversionDriverRef],
        description: 'The busiest 200 event names, conversion events left out: tested ones by q-value, then those with too few trials',
        resolve: (result) => result.drivers,
      }),
    }),
  });

builder.queryField('conversionDrivers', (t) =>
  t.field({
    type: ConversionDriversRef,
    description:
      'Which events predict conversion, among the trials that started on the days (UTC) of [from, to) and finished; only events before each outcome count',
    args: rangeArgs,
    resolve: (_root, args, { auth, em }) => {
      requireApp(auth, args.appId);
      return conversionDrivers(em, args.appId, rangeOf(args));
    },
  }),
);
