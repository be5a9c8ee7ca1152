/**
 * The `template` format's body: a JSONata expression the app saved, over the standard payload.
 * Bounded as anything a customer writes must be: its text's length when saved, its evaluation's
 * time, nesting and sequences (JSONata's own guardrails stop it), and its result's size; a
 * failure is an error to report, never a crash.
 */
import jsonata from 'jsonata';

export const MAX_EXPRESSION_LENGTH = 10_000;
/** An evaluation runs on the worker's event loop: a few milliseconds, never more than this. */
export const EVALUATION_MS = 50;
const MAX_DEPTH = 200;
/** The longest sequence (a range such as [1..10000000] would fill memory first). */
const MAX_SEQUENCE = 100_000;
export const MAX_OUTPUT_BYTES = 256 * 1024;

export class TemplateError extends Error {}

/** Why the expression cannot be saved, or null: its syntax, checked without evaluating it. */
export function expressionProblem(expression: string): string | null {
  if (expression.length > MAX_EXPRESSION_LENGTH) return `the expression is over ${MAX_EXPRESSION_LENGTH} characters`;
  try {
    jsonata(expression);
    return null;
  } catch (error) {
    return `the expression is not JSONata: ${(error as Error).message}`;
  }
}

/** JSONata's own guardrails (2.2): a time limit, a nesting limit and a longest sequence, checked as it evaluates. */
const GUARDRAILS = { timeout: EVALUATION_MS, stack: MAX_DEPTH, sequence: MAX_SEQUENCE };

/** The body the expression makes of a payload, as JSON; a TemplateError says why it could not. */
export async function evaluateTemplate(expression: string, payload: unknown): Promise<string> {
  let result: unknown;
  try {
    result = await jsonata(expression, GUARDRAILS).evaluate(payload);
  } catch (error) {
    throw new TemplateError(`the expression failed: ${(error as { message?: string }).message ?? String(error)}`);
  }
  if (result === undefined) throw new TemplateError('the expression gave nothing for this payload');
  const body = JSON.stringify(result);
  if (Buffer.byteLength(body) > MAX_OUTPUT_BYTES) throw new TemplateError(`the expression's result is over ${MAX_OUTPUT_BYTES} bytes`);
  return body;
}
