import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Target } from './ssrf.ts';

/** Response bodies are read up to this much, and stored up to STORED_BODY_BYTES (truncated, not dropped). */
const READ_BODY_BYTES = 64 * 1024;
export const STORED_BODY_BYTES = 16 * 1024;

export interface AttemptResult {
  statusCode: number | null;
  headers: Record<string, string>;
  body: string | null;
  durationMs: number;
  error: string | null;
}

/**
 * One POST to the endpoint, connecting only to the address that passed the SSRF check.
 * Redirects are not followed; the whole exchange is bounded by timeoutMs.
 */
export function postOnce(target: Target, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  const started = performance.now();
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: Math.round(performance.now() - started) });
    };
    const req = request(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinned,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ statusCode: null, headers: {}, body: null, error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    req.once('error', (error: NodeJS.ErrnoException) => finish({ statusCode: null, headers: {}, body: null, error: error.code ?? error.message }));
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
        const text = Buffer.concat(chunks).subarray(0, STORED_BODY_BYTES).toString('utf8');
        const responseHeaders = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]));
        finish({ statusCode: res.statusCode ?? null, headers: responseHeaders, body: text, error: null });
      };
      res.once('end', done);
      res.once('close', done);
    });
    req.end(body);
  });
}
