import SchemaBuilder from '@pothos/core';
import type { GraphQLContext } from './context.ts';

/** The one Pothos builder; domain files under src/modules add their types to it. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
