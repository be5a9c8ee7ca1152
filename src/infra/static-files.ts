/**
 * The console's built files (dist/console, made by `npm run build:console`, which `npm ci` runs): index.html at `/`
 * (never cached: it names the current assets), hashed assets under /assets/ cached for a year, every page under a
 * Content-Security-Policy that lets it talk to this host only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { HttpError, answeringHttpErrors, sendJson, type RouteHandler } from './http-body.ts';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** Scripts, styles, fonts and images from this host only; the API and its WebSocket on this host too. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const ASSET_NAME = /^[A-Za-z0-9._-]+$/;

export function consoleRoutes(dir: string): Record<string, RouteHandler> {
  const index = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET', { allow: 'GET' });
    const file = join(dir, 'index.html');
    if (!existsSync(file)) return void sendJson(res, 503, { error: 'the console is not built: run npm run build:console (npm ci does it)' });
    const html = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES['.html']!,
      'cache-control': 'no-cache',
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  };
  const asset = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET', { allow: 'GET' });
    const name = (req.url ?? '').split('?')[0]!.slice('/assets/'.length);
    // One plain file name: no path outside the assets folder can be named.
    if (!ASSET_NAME.test(name) || normalize(name) !== name) throw new HttpError(404, 'no such asset');
    const file = join(dir, 'assets', name);
    if (!existsSync(file)) throw new HttpError(404, 'no such asset');
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  return { '/': answeringHttpErrors(index), '/assets/*': answeringHttpErrors(asset) };
}
