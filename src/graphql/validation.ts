/**
 * Input validation: zod schemas checked by Pothos's validation plugin before a resolver runs.
 * A query or subscription with bad arguments fails with BAD_USER_INPUT naming each field; a
 * mutation answers the same problems as data in its payload's `errors`, as CONTRACT asks.
 */
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { FieldError } from './common.ts';

interface Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** Issues as field errors; the field is the path inside the `input` argument, e.g. `ahaRules.0.count`. */
export function fieldErrorsOf(issues: readonly Issue[]): FieldError[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part));
    if (path[0] === 'input' && path.length > 1) path.shift();
    return { field: path.length ? path.join('.') : null, message: issue.message, code: 'INVALID' };
  });
}

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
