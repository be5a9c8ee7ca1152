/**
 * fast-check arbitraries for a GraphQL schema's root fields: one operation per query or
 * mutation field, its arguments generated from their types (input objects, lists, enums,
 * scalars) with strings from the pool given, so a property can reach every input of the API.
 */
import fc from 'fast-check';
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  getNamedType,
  isCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

const MAX_DEPTH = 4;

function valueOf(type: GraphQLInputType, strings: fc.Arbitrary<string>, depth: number): fc.Arbitrary<unknown> {
  if (type instanceof GraphQLNonNull) return nonNullValueOf(type.ofType, strings, depth);
  const value = nonNullValueOf(type, strings, depth);
  return fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 5, arbitrary: value });
}

function nonNullValueOf(type: GraphQLInputType, strings: fc.Arbitrary<string>, depth: number): fc.Arbitrary<unknown> {
  if (type instanceof GraphQLNonNull) return nonNullValueOf(type.ofType, strings, depth);
  if (type instanceof GraphQLList) return depth >= MAX_DEPTH ? fc.constant([]) : fc.array(valueOf(type.ofType, strings, depth + 1), { maxLength: 3 });
  if (type instanceof GraphQLEnumType) return fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) }, strings);
  if (type instanceof GraphQLInputObjectType) {
    if (depth >= MAX_DEPTH) return fc.constant({});
    const fields = Object.values(type.getFields());
    const shape = Object.fromEntries(fields.map((field) => [field.name, valueOf(field.type, strings, depth + 1)]));
    const required = fields.filter((field) => field.type instanceof GraphQLNonNull).map((field) => field.name);
    return fc.record(shape, { requiredKeys: required });
  }
  const scalar = type as GraphQLScalarType;
  switch (scalar.name) {
    case 'Int':
      return fc.oneof(fc.integer({ min: -5, max: 200 }), fc.integer());
    case 'Float':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return fc.oneof(
        { weight: 6, arbitrary: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) },
        { weight: 1, arbitrary: strings },
      );
    default:
      return strings;
  }
}

export interface GeneratedOperation {
  field: string;
  query: string;
  variables: Record<string, unknown>;
}

function operationOf(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>, strings: fc.Arbitrary<string>): fc.Arbitrary<GeneratedOperation> {
  const declarations = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const passed = field.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const named = getNamedType(field.type);
  // A mutation payload's expected failures are data: select them, so a property can tell them apart.
  const payloadErrors = named instanceof GraphQLObjectType && 'errors' in named.getFields() ? ' errors { code }' : '';
  const selection = isCompositeType(named) ? ` { __typename${payloadErrors} }` : '';
  const query = `${kind}${declarations ? `(${declarations})` : ''} { ${field.name}${passed ? `(${passed})` : ''}${selection} }`;
  const shape = Object.fromEntries(field.args.map((arg) => [arg.name, valueOf(arg.type, strings, 0)]));
  return fc.record(shape).map((variables) => ({ field: field.name, query, variables }));
}

/** Any root query or mutation field (fields without arguments too), with generated variables. */
export function schemaOperations(schema: GraphQLSchema, strings: fc.Arbitrary<string>): fc.Arbitrary<GeneratedOperation> {
  const operations = [
    ...Object.values(schema.getQueryType()?.getFields() ?? {}).map((field) => operationOf('query', field, strings)),
    ...Object.values(schema.getMutationType()?.getFields() ?? {}).map((field) => operationOf('mutation', field, strings)),
  ];
  return fc.oneof(...operations);
}
