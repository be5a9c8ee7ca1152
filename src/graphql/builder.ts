import SchemaBuilder from '@pothos/core';
import ValidationPlugin from '@pothos/plugin-validation';
import type { GraphQLContext } from './context.ts';
import { fieldErrorsOf, InputValidationError } from './validation.ts';

/** The one Pothos builder; domain files under src/modules add their types to it. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
}>({
  plugins: [ValidationPlugin],
  validation: { validationError: (failure) => new InputValidationError(fieldErrorsOf(failure.issues)) },
  defaultFieldNullability: false,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
