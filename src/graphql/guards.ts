/**
 * The GraphQL endpoint's limits: CSRF prevention, query depth and size (a query's cost is its
 * number of selected fields, fragments expanded), and introspection switchable off.
 */
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export const MAX_DEPTH = 12;
export const MAX_FIELDS = 2000;

/** Content types a browser may send cross-site without a preflight (CORS "simple requests"). */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * A GraphQL request a browser could send cross-site without a preflight (a GET with a query, or
 * a POST with a simple content type) must carry a header no form can set: `x-graphql-csrf` or
 * `apollo-require-preflight`. JSON POSTs (every GraphQL client) are never simple requests.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const simple = request.method === 'GET' ? url.searchParams.has('query') : request.method === 'POST' && (type === '' || SIMPLE_CONTENT_TYPES.includes(type));
      if (!simple || request.headers.has('x-graphql-csrf') || request.headers.has('apollo-require-preflight')) return;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({ errors: [{ message: 'this request could be a cross-site request forgery: send Content-Type: application/json, or an x-graphql-csrf header', extensions: { code: 'CSRF_PREVENTED' } }] }),
          { status: 403, headers: { 'content-type': 'application/json' } },
        ),
      );
    },
  };
}

/** Deepest selection and number of fields an operation selects, fragments expanded (each fragment once per use). */
export function measure(selectionSet: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen: Set<string> = new Set()): { depth: number; fields: number } {
  let depth = 0;
  let fields = 0;
  for (const selection of selectionSet.selections) {
    let inner: { depth: number; fields: number } = { depth: 0, fields: 0 };
    if (selection.kind === Kind.FIELD) {
      if (selection.selectionSet) inner = measure(selection.selectionSet, fragments, seen);
      fields += 1 + inner.fields;
      // Introspection's depth is not ours to limit: the standard introspection query (GraphiQL,
      // codegen tools) is 15 levels deep, and graphql-js's MaxIntrospectionDepthRule already
      // refuses the nestings that cost (fields → type → fields …). Its fields still count.
      depth = Math.max(depth, selection.name.value.startsWith('__') ? 1 : 1 + inner.depth);
      continue;
    }
    if (selection.kind === Kind.INLINE_FRAGMENT) inner = measure(selection.selectionSet, fragments, seen);
    else {
      const fragment = fragments[selection.name.value];
      // A fragment spread inside itself is refused by the standard rules; count it once here.
      if (!fragment || seen.has(fragment.name.value)) continue;
      inner = measure(fragment.selectionSet, fragments, new Set([...seen, fragment.name.value]));
    }
    fields += inner.fields;
    depth = Math.max(depth, inner.depth);
  }
  return { depth, fields };
}

function limitsRule(context: ValidationContext): ASTVisitor {
  const fragments = Object.fromEntries(context.getDocument().definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  return {
    OperationDefinition(operation) {
      const { depth, fields } = measure(operation.selectionSet, fragments);
      const name = operation.name ? ` ${operation.name.value}` : '';
      if (depth > MAX_DEPTH) context.reportError(new GraphQLError(`operation${name} is ${depth} levels deep; the limit is ${MAX_DEPTH}`, { nodes: [operation], extensions: { code: 'QUERY_TOO_DEEP' } }));
      if (fields > MAX_FIELDS) context.reportError(new GraphQLError(`operation${name} selects ${fields} fields; the limit is ${MAX_FIELDS}`, { nodes: [operation], extensions: { code: 'QUERY_TOO_COMPLEX' } }));
    },
  };
}

/** Adds the depth and size limits, and refuses introspection when it is switched off. */
export function useOperationLimits(options: { introspection: boolean }): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(limitsRule);
      if (!options.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
