import SchemaBuilder from '@pothos/core';
import ValidationPlugin from '@pothos/plugin-validation';
import type { GraphQLContext } from './context.ts';
import { fieldErrorsOf } from '../core/field-error.ts';
import { InputValidationError } from './validation.ts';

/** The one Pothos builder; domain files under src/modules add their types to it. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  // IDs arrive as strings (GraphQL coerces an int literal too), so resolvers need no String(id).
  Scalars: { DateTime: { Input: Date; Output: Date }; ID: { Input: string; Output: string } };
  DefaultFieldNullability: false;
}>({
  plugins: [ValidationPlugin],
  validation: { validationError: (failure) => new InputValidationError(fieldErrorsOf(failure.issues)) },
  defaultFieldNullability: false,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
