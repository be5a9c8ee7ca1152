import type { ObjectFieldsShape, SchemaTypes } from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import { z } from 'zod';
import type { FieldError } from '../core/field-error.ts';
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

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T extends SchemaTypes> ? T : never;

/** A mutation's payload type: its own fields, and the `errors` list every payload has. */
export function payloadType<T extends { errors: FieldError[] }>(name: string, fields: ObjectFieldsShape<Types, T>, description?: string) {
  return builder.objectRef<T>(name).implement({
    ...(description ? { description } : {}),
    fields: (t) => ({ ...fields(t), errors: t.field({ type: [MutationError], resolve: (payload) => payload.errors }) }),
  });
}

/**
 * The one not-found rule: a missing id and another app's id get the same answer (ids do not
 * tell which exist). A mutation answers it as data (`errors [{ field, code: NOT_FOUND }]`,
 * as every expected failure of a mutation); a query or subscription fails with the GraphQL
 * error NOT_FOUND; `node(id)` answers null.
 */
export const notFound = (field: string, message: string): FieldError[] => [{ field, message, code: 'NOT_FOUND' }];

export const notFoundError = (message: string) => new GraphQLError(message, { extensions: { code: 'NOT_FOUND' } });
