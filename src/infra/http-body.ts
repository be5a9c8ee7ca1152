import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonProblem } from './json-limits.ts';

/** Deeper than any message needs (a stored value nests at most 32 levels inside its message). */
export const MAX_JSON_NESTING = 64;

/** What a route of the listener is: the server picks it by path, the module implements it. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** A request problem with the status and message to answer it with. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** Reads at most `limit` bytes; a larger body is refused with 413 without reading the rest. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `body is ${declared} bytes; the limit here is ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body is over the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** JSON.parse does not recurse (V8); the check after it refuses what later, recursive code could not handle. */
export function parseJson(body: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `malformed JSON: ${(error as Error).message}`);
  }
  const problem = jsonProblem(value, MAX_JSON_NESTING);
  if (problem) throw new HttpError(400, problem);
  return value;
}

/** A path segment (a write key, an app id) decoded; a bad percent-encoding is the client's error. */
export function decodePathSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `the ${what} in the path is not valid percent-encoding`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/**
 * A route whose expected failures (HttpError) are answered as JSON `{success: false, error}`;
 * anything else propagates to the server's 500 handler.
 */
export function answeringHttpErrors(
  work: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      await work(req, res);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      sendJson(res, error.status, { success: false, error: error.message }, error.headers);
    }
  };
}
