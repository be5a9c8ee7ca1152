/**
 * Input validation: zod schemas checked by Pothos's validation plugin before a resolver runs.
 * A query or subscription with bad arguments fails with BAD_USER_INPUT naming each field; a
 * mutation answers the same problems as data in its payload's `errors`, as CONTRACT asks.
 */
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { FieldError } from '../core/field-error.ts';

export class InputValidationError extends GraphQLError {
  readonly fieldErrors: FieldError[];

  constructor(fieldErrors: FieldError[]) {
    super(fieldErrors.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join('; '), {
      extensions: { code: 'BAD_USER_INPUT', fieldErrors },
    });
    this.fieldErrors = fieldErrors;
  }
}

/** Wraps every mutation so that input refused by the validation plugin becomes `{ errors }`. */
export function answerInputErrorsAsData(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve;
    if (!resolve) continue;
    field.resolve = async (...args) => {
      try {
        return await resolve(...args);
      } catch (error) {
        if (error instanceof InputValidationError) return { errors: error.fieldErrors };
        throw error;
      }
    };
  }
  return schema;
}
