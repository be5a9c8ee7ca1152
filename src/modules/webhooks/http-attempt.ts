import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { storableText } from '../../core/storable-text.ts';
import type { Target } from './ssrf.ts';

/** Response bodies are read up to this much, and stored up to STORED_BODY_BYTES (truncated, not dropped). */
const READ_BODY_BYTES = 64 * 1024;
export const STORED_BODY_BYTES = 16 * 1024;

export type HttpMethod = 'POST' | 'PUT' | 'PATCH';

export interface AttemptResult {
  statusCode: number | null;
  headers: Record<string, string>;
  body: string | null;
  durationMs: number;
  error: string | null;
  /** Nothing was sent: the request could not be made of this delivery (a template failing on it). */
  unsendable?: true;
  /** Nothing was sent: the endpoint's address failed the SSRF check at this attempt. */
  refused?: true;
}

/** An attempt's outcome in a few words, for counting: the status class, or why there was no status. */
export type AttemptClass = '2xx' | '3xx' | '4xx' | '5xx' | 'timeout' | 'connection_error' | 'refused' | 'unsendable';

export function attemptClass(result: AttemptResult): AttemptClass {
  if (result.statusCode !== null) return `${Math.min(5, Math.max(2, Math.floor(result.statusCode / 100)))}xx` as AttemptClass;
  if (result.refused) return 'refused';
  if (result.unsendable) return 'unsendable';
  return result.error?.startsWith('timed out') ? 'timeout' : 'connection_error';
}

/**
 * A receiver's answer as text the attempt log can store and show. Text never holds a NUL byte,
 * so a body with one (a 1×1 gif, a gzip answer) is described rather than shown; other bytes
 * that are not UTF-8 show as U+FFFD, as a browser would show them.
 */
export function answerText(bytes: Buffer, contentType: string | undefined): string {
  if (bytes.includes(0))
    return `(a binary answer of ${bytes.length >= READ_BODY_BYTES ? 'at least ' : ''}${bytes.length} bytes${contentType ? `, ${contentType}` : ''}; not shown)`;
  return storableText(bytes.subarray(0, STORED_BODY_BYTES).toString('utf8'));
}

/**
 * Kept-alive connections, one pool per checked address (and host, for TLS and Host): a
 * reused socket always leads where an SSRF check allowed. Idle sockets close after 4 s,
 * before the 5 s a Node receiver keeps them, so a reused one is rarely already closed.
 */
const agents = new Map<string, HttpAgent>();
const MAX_POOLS = 1000;

function agentFor(target: Target): HttpAgent {
  const key = `${target.url.protocol}//${target.url.host}@${target.address}`;
  let agent = agents.get(key);
  if (!agent) {
    if (agents.size >= MAX_POOLS) {
      const [oldestKey, oldest] = agents.entries().next().value!;
      oldest.destroy();
      agents.delete(oldestKey);
    }
    const options = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: 4000 };
    agent = target.url.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
    agents.set(key, agent);
  }
  return agent;
}

/**
 * One request to the endpoint (a POST; PUT or PATCH for destinations whose APIs ask it), connecting only to the address that passed the SSRF check.
 * Redirects are not followed; the whole exchange is bounded by timeoutMs. A kept-alive
 * socket the receiver closed just before we wrote is retried once on a new connection
 * (Node's advice for reused sockets); nothing reached the receiver on the closed one.
 */
export async function requestOnce(
  target: Target,
  method: HttpMethod,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  const started = performance.now();
  const first = await exchange(target, method, headers, body, timeoutMs, agentFor(target));
  if (!first.staleSocket) return { ...first.result, durationMs: Math.round(performance.now() - started) };
  const fresh = await exchange(target, method, headers, body, timeoutMs - (performance.now() - started), false);
  return { ...fresh.result, durationMs: Math.round(performance.now() - started) };
}

function exchange(
  target: Target,
  method: HttpMethod,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  agent: HttpAgent | false,
): Promise<{ result: Omit<AttemptResult, 'durationMs'>; staleSocket: boolean }> {
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'durationMs'>, staleSocket = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ result, staleSocket });
    };
    const req = request(target.url, {
      method,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinned,
      agent,
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ statusCode: null, headers: {}, body: null, error: `timed out after ${Math.round(timeoutMs)} ms` });
    }, timeoutMs);
    req.once('error', (error: NodeJS.ErrnoException) =>
      finish({ statusCode: null, headers: {}, body: null, error: storableText(error.code ?? error.message) }, req.reusedSocket && error.code === 'ECONNRESET'),
    );
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= READ_BODY_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
        if (size >= READ_BODY_BYTES) res.destroy();
      });
      const done = () => {
        const responseHeaders = Object.fromEntries(
          Object.entries(res.headers).map(([name, value]) => [name, storableText(Array.isArray(value) ? value.join(', ') : String(value))]),
        );
        finish({
          statusCode: res.statusCode ?? null,
          headers: responseHeaders,
          body: answerText(Buffer.concat(chunks), responseHeaders['content-type']),
          error: null,
        });
      };
      res.once('end', done);
      res.once('close', done);
    });
    req.end(body);
  });
}
