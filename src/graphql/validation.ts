/**
 * Input validation: zod schemas checked by Pothos's validation plugin before a resolver runs.
 * A query or subscription with bad arguments fails with BAD_USER_INPUT naming each field; a
 * mutation answers the same problems as data in its payload's `errors`, as CONTRACT asks.
 */
import { defaultFieldResolver, GraphQLError, GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { FieldError } from '../core/field-error.ts';
import { unstorableText } from '../core/storable-text.ts';

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

/** A field's arguments as a client sent them, refused when a string holds what PostgreSQL cannot store. */
function checkStorable(args: Record<string, unknown>): void {
  const problem = unstorableText(args);
  if (!problem) return;
  const path = problem.path.split('.');
  if (path[0] === 'input' && path.length > 1) path.shift();
  throw new InputValidationError([{ field: path.join('.'), message: problem.message, code: 'INVALID' }]);
}

function guarded<T extends GraphQLFieldResolver<unknown, unknown>>(resolve: T): T {
  return ((source, args, context, info) => {
    checkStorable(args);
    return resolve(source, args, context, info);
  }) as T;
}

/**
 * Every field that takes arguments, on every type, first refuses a string holding a NUL or a
 * lone surrogate, naming it (`userId: must not contain the NUL character`): one rule for the
 * whole schema, so no input type's own schema can forget it. Applied before
 * `answerInputErrorsAsData`, so a mutation answers it as data like any invalid field.
 */
export function refuseUnstorableArguments(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      // A subscription's arguments are read once, when it starts; its events need no second look.
      if (field.subscribe) field.subscribe = guarded(field.subscribe);
      else field.resolve = guarded(field.resolve ?? defaultFieldResolver);
    }
  }
  return schema;
}
