import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import { answerInputErrorsAsData, refuseUnstorableArguments } from './validation.ts';
import './common.ts';
import './node.ts';
import '../modules/apps/app.graphql.ts';
import '../modules/apps/api-key.graphql.ts';
import '../modules/apps/integrations.graphql.ts';
import '../modules/trials/trial.graphql.ts';
import '../modules/trials/settings.graphql.ts';
import '../modules/accounts/account.graphql.ts';
import '../modules/webhooks/endpoint.graphql.ts';
import '../modules/webhooks/holdout.graphql.ts';
import '../modules/webhooks/attempt.graphql.ts';
import '../modules/webhooks/delivery.graphql.ts';
import '../modules/webhooks/operational-event.graphql.ts';
import '../modules/ingest/volume.graphql.ts';
import '../modules/ingest/event.graphql.ts';
import '../modules/insights/insights.graphql.ts';
import '../modules/insights/drivers.graphql.ts';

export const schema = answerInputErrorsAsData(refuseUnstorableArguments(builder.toSchema()));

/** schema.graphql's text: the sorted SDL, so diffs show real changes only. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
