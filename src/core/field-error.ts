/**
 * An expected failure of a command, returned as data (a mutation's payload `errors`): which
 * input field, if any, why, and a stable code. Domain services answer with these; the GraphQL
 * layer only shows them.
 */
export interface FieldError {
  field: string | null;
  message: string;
  code: string;
}

interface Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** Validation issues (zod's) as field errors; the field is the path inside the `input` argument, e.g. `ahaRules.0.count`. */
export function fieldErrorsOf(issues: readonly Issue[]): FieldError[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part));
    if (path[0] === 'input' && path.length > 1) path.shift();
    return { field: path.length ? path.join('.') : null, message: issue.message, code: 'INVALID' };
  });
}
