/**
 * The GraphQL endpoint's limits, the same for HTTP and graphql-ws. What a request costs to
 * check is linear in its size, and nothing recursive runs on it before its nesting is known:
 * 1. the document is lexed once (graphql-js's lexer, a loop) to refuse nesting deeper than
 *    MAX_NESTING, then parsed with graphql-js's own token limit (`maxTokens`);
 * 2. variables and extensions (JSON) are walked without recursion for the same nesting limit;
 * 3. validation adds Pothos's complexity rule (depth, fields, list-weighted cost), which
 *    measures each fragment once per type and reuses the result wherever it is spread,
 *    a cap on introspection fields and on a mutation's root fields (each one a side effect),
 *    and hides "Did you mean …" suggestions when introspection is off.
 * CSRF prevention is Yoga's plugin. Introspection keeps working (GraphiQL, codegen tools):
 * its depth is not counted (graphql-js's MaxIntrospectionDepthRule refuses its costly cycles).
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { PothosValidationError } from '@pothos/core';
import { createComplexityRule } from '@pothos/plugin-complexity';
import {
  GraphQLError,
  Kind,
  Lexer,
  NoSchemaIntrospectionCustomRule,
  parse,
  Source,
  TokenKind,
  validate,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { jsonProblem } from '../infra/json-limits.ts';

export const MAX_TOKENS = 5000;
/** Braces, brackets and parentheses inside one another; graphql-js's recursive parser overflows near 2,000. */
export const MAX_NESTING = 64;
export const MAX_DEPTH = 12;
export const MAX_FIELDS = 2000;
/** A list field multiplies what it selects by 10 (Pothos's default); a page holds at most 100. */
export const MAX_COMPLEXITY = 20_000;
export const MAX_INTROSPECTION_FIELDS = 500;
/** Every root field of a mutation is a side effect (sendTestWebhook posts to a URL): few per operation. */
export const MAX_MUTATION_FIELDS = 10;
/** A request's body: a document is at most MAX_TOKENS tokens and every input is small; a megabyte leaves room to spare. */
export const MAX_BODY_BYTES = 1_000_000;

const limitError = (message: string, code: string) => new GraphQLError(message, { extensions: { code, http: { status: 400 } } });

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Refuses a document nested deeper than MAX_NESTING before the recursive parser sees it.
 * Lexes at most MAX_TOKENS tokens: past them the parser's own token limit answers.
 */
export function checkNesting(source: string): void {
  const lexer = new Lexer(new Source(source));
  let depth = 0;
  for (let tokens = 0; tokens <= MAX_TOKENS; tokens++) {
    const { kind } = lexer.advance();
    if (kind === TokenKind.EOF) return;
    if (OPENING.has(kind) && ++depth > MAX_NESTING)
      throw limitError(`the document nests deeper than ${MAX_NESTING} levels; the limit is ${MAX_NESTING}`, 'QUERY_TOO_DEEP');
    if (CLOSING.has(kind)) depth--;
  }
}

/**
 * Introspection fields selected, each fragment counted where it is used: a fragment's count is
 * computed once and memoised, so a document's cost is linear in its size however its
 * fragments spread one another. `onFragment` sees each measurement (tests count them).
 */
export function introspectionFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  onFragment: (name: string) => void = () => undefined,
): number {
  const memo = new Map<string, number>();
  const count = (set: SelectionSetNode, inside: boolean): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        // __typename is one cheap answer; __schema and __type open the schema.
        const introspection = inside || selection.name.value === '__schema' || selection.name.value === '__type';
        total += (introspection ? 1 : 0) + (selection.selectionSet ? count(selection.selectionSet, introspection) : 0);
        if (total > MAX_INTROSPECTION_FIELDS) return total;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += count(selection.selectionSet, inside);
      } else {
        total += fragmentCount(selection.name.value, inside);
      }
      // Stop as soon as the limit is passed: the answer is already known.
      if (total > MAX_INTROSPECTION_FIELDS) return total;
    }
    return total;
  };
  const fragmentCount = (name: string, inside: boolean): number => {
    const key = `${inside ? 'i' : 'o'}:${name}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    // Cycles are refused by the standard NoFragmentCyclesRule; count a cycle's fragment as 0 here.
    memo.set(key, 0);
    if (!fragment) return 0;
    onFragment(name);
    const result = count(fragment.selectionSet, inside);
    memo.set(key, result);
    return result;
  };
  return count(selectionSet, false);
}

/** Distinct root fields a mutation runs (same response key = one execution), each fragment visited once. */
export function mutationRootFields(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): number {
  const keys = new Set<string>();
  const visited = new Set<string>();
  const collect = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) keys.add((selection.alias ?? selection.name).value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) collect(fragment.selectionSet);
      }
      if (keys.size > MAX_MUTATION_FIELDS) return;
    }
  };
  collect(selectionSet);
  return keys.size;
}

const fragmentsOf = (context: ValidationContext) =>
  new Map(
    context
      .getDocument()
      .definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );

function introspectionAndMutationRule(context: ValidationContext): ASTVisitor {
  const fragments = fragmentsOf(context);
  return {
    OperationDefinition(operation) {
      const name = operation.name ? ` ${operation.name.value}` : '';
      const introspection = introspectionFields(operation.selectionSet, fragments);
      if (introspection > MAX_INTROSPECTION_FIELDS) {
        context.reportError(
          limitError(
            `operation${name} selects more than ${MAX_INTROSPECTION_FIELDS} introspection fields; the limit is ${MAX_INTROSPECTION_FIELDS}`,
            'QUERY_TOO_COMPLEX',
          ),
        );
      }
      if (operation.operation === 'mutation' && mutationRootFields(operation.selectionSet, fragments) > MAX_MUTATION_FIELDS) {
        context.reportError(
          limitError(
            `mutation${name} runs more than ${MAX_MUTATION_FIELDS} root fields; the limit is ${MAX_MUTATION_FIELDS} an operation`,
            'TOO_MANY_MUTATIONS',
          ),
        );
      }
    },
  };
}

/**
 * Pothos's rule also reports a field it cannot find; graphql-js's FieldsOnCorrectTypeRule
 * already says that better (and without suggestions when they are hidden).
 */
function withoutUnknownFieldReports(rule: ValidationRule): ValidationRule {
  return (context) =>
    rule(
      new Proxy(context, {
        get(target, property) {
          if (property === 'reportError') return (error: GraphQLError) => (error instanceof PothosValidationError ? undefined : target.reportError(error));
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    );
}

/** Pothos's complexity rule for one request (it weighs `first`-style arguments from its variables). */
export function complexityRule(params: Pick<GraphQLParams, 'variables' | 'operationName'>, context: object): ValidationRule {
  return withoutUnknownFieldReports(
    createComplexityRule({
      variableValues: (params.variables ?? {}) as Record<string, unknown>,
      operationName: params.operationName ?? undefined,
      context,
      validate: ({ depth, breadth, complexity }, report) => {
        if (depth > MAX_DEPTH) report(limitError(`operation is ${depth} levels deep; the limit is ${MAX_DEPTH}`, 'QUERY_TOO_DEEP'));
        if (breadth > MAX_FIELDS) report(limitError(`operation selects ${breadth} fields; the limit is ${MAX_FIELDS}`, 'QUERY_TOO_COMPLEX'));
        if (complexity > MAX_COMPLEXITY)
          report(
            limitError(`operation costs ${complexity} (a list field counts what it selects 10 times); the limit is ${MAX_COMPLEXITY}`, 'QUERY_TOO_COMPLEX'),
          );
      },
    }),
  );
}

/** The rules every operation is validated with, beside graphql-js's standard ones. */
export function limitRules(params: Pick<GraphQLParams, 'variables' | 'operationName'>, context: object, introspection: boolean): ValidationRule[] {
  return [complexityRule(params, context), introspectionAndMutationRule, ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
}

/** Variables and extensions are JSON a client chose: refused when nested too deep, before graphql-js coerces them (recursively). */
function paramsProblem(params: { variables?: unknown; extensions?: unknown }): string | null {
  return jsonProblem(params.variables ?? null, MAX_NESTING, 'variables') ?? jsonProblem(params.extensions ?? null, MAX_NESTING, 'extensions');
}

/** graphql-js's wording of a suggestion, e.g. ` Did you mean the enum value "exploring"?`. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

function withoutSuggestion(error: GraphQLError): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  if (message === error.message) return error;
  return new GraphQLError(message, { nodes: error.nodes, path: error.path, originalError: error.originalError, extensions: error.extensions });
}

const bodyTooLarge = () =>
  new GraphQLError(`the request body is larger than ${MAX_BODY_BYTES} bytes; the limit is ${MAX_BODY_BYTES}`, {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });

/**
 * The body's size limit, in place of Yoga's (which pipes every body through a web TransformStream,
 * about 4 % of the API's CPU on a small query). With a Content-Length the header is the limit's
 * answer: Node's HTTP parser reads exactly that many bytes as the body. Only a chunked body, whose
 * size is unknown up front, is counted as it arrives.
 */
function useBodySizeLimit(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length !== null) {
        if (!/^\d+$/.test(length)) throw limitError('Content-Length must be one number of bytes', 'BAD_REQUEST');
        if (Number(length) > MAX_BODY_BYTES) throw bodyTooLarge();
        return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser((chunked) => {
        let received = 0;
        const counted = chunked.body!.pipeThrough(
          new fetchAPI.TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              received += chunk.byteLength;
              if (received > MAX_BODY_BYTES) controller.error(bodyTooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        // @ts-expect-error `duplex` is a fetch option TypeScript's RequestInit does not list yet.
        return requestParser(new fetchAPI.Request(chunked.url, { method: chunked.method, headers: chunked.headers, body: counted, duplex: 'half' }));
      });
    },
  };
}

/** Every guard, as Yoga plugins. */
export function useGraphQLGuards(options: { introspection: boolean }): Plugin[] {
  const hideSuggestions = !options.introspection;
  return [
    // Yoga's CSRF plugin: a request a browser could send cross-site without a preflight (a GET,
    // or a POST with a form or text content type) must carry a header no form can set.
    useCSRFPrevention({ requestHeaders: ['x-graphql-csrf', 'apollo-require-preflight', 'x-graphql-yoga-csrf'] }),
    useBodySizeLimit(),
    {
      onParams({ params }) {
        const problem = paramsProblem(params);
        if (problem) throw limitError(problem, 'BAD_USER_INPUT');
      },
      onParse({ setParseFn }) {
        setParseFn((source, parseOptions) => {
          checkNesting(typeof source === 'string' ? source : source.body);
          return parse(source, { ...parseOptions, maxTokens: MAX_TOKENS });
        });
      },
      onValidate({ addValidationRule, setValidationFn, context }) {
        const params = (context as { params?: GraphQLParams }).params ?? { query: '' };
        for (const rule of limitRules(params, context, options.introspection)) addValidationRule(rule);
        // Envelop passes graphql-js 16's arguments (…, typeInfo, options); graphql 17 takes options fourth.
        setValidationFn((schema, document, rules) => validate(schema, document, rules, { hideSuggestions, maxErrors: 100 }));
      },
      // Variables are coerced at execution (by Yoga's executor, which has no such option):
      // their errors must not spell the schema out either.
      onExecutionResult({ result, setResult }) {
        if (hideSuggestions && result && !Array.isArray(result) && 'errors' in result && result.errors) {
          setResult({ ...result, errors: result.errors.map((error) => withoutSuggestion(error as GraphQLError)) });
        }
      },
    },
  ];
}

/** Checks a graphql-ws operation's variables and extensions as onParams does for HTTP. */
export function checkOperationParams(params: { variables?: unknown; extensions?: unknown }): GraphQLError | null {
  const problem = paramsProblem(params);
  return problem ? limitError(problem, 'BAD_USER_INPUT') : null;
}
