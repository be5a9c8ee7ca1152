import { GraphQLError, Kind } from 'graphql';
import { z } from 'zod';
import { builder } from './builder.ts';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && ISO_8601.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError(`DateTime must be an ISO-8601 string such as 2025-02-14T00:00:00Z; got ${JSON.stringify(value)}`);
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time, e.g. 2025-02-14T00:00:00Z',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** An expected failure of a mutation, returned as data. */
export interface FieldError {
  field: string | null;
  message: string;
  code: string;
}

export const MutationError = builder.objectRef<FieldError>('MutationError').implement({
  description: 'An expected failure: which input field (if any), why, and a stable code',
  fields: (t) => ({
    field: t.exposeString('field', { nullable: true }),
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

/** A name people give a thing (an app, an API key): 1 to 100 characters, surrounding spaces not counted. */
export const displayName = z.string().refine((name) => name.trim().length >= 1 && name.trim().length <= 100, 'name must be 1 to 100 characters');
