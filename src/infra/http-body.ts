import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
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

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

/**
 * Reads at most `limit` bytes; a larger body is refused with 413 without reading the rest. A
 * gzip or deflate body (Content-Encoding, as server libraries send it) is inflated, the limit
 * applying to what it inflates to: a small body that would inflate past it is a 413 too.
 */
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
  return decode(Buffer.concat(chunks), (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase(), limit);
}

async function decode(body: Buffer, encoding: string, limit: number): Promise<Buffer> {
  if (encoding === 'identity' || encoding === '') return body;
  const options = { maxOutputLength: limit };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzip(body, options);
    // "deflate" is zlib-wrapped by the standard; some clients send it raw.
    if (encoding === 'deflate')
      return await inflate(body, options).catch((error: NodeJS.ErrnoException) =>
        error.code === 'Z_DATA_ERROR' ? inflateRaw(body, options) : Promise.reject(error),
      );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `body inflates past the limit of ${limit} bytes`);
    throw new HttpError(400, `body is not valid ${encoding} data`);
  }
  throw new HttpError(415, `Content-Encoding ${encoding} is not supported; send gzip, deflate or none`, { 'accept-encoding': 'gzip, deflate' });
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
