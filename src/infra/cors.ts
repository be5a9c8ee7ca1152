/**
 * CORS for the ingest routes: browser SDKs post from the customer's own pages (any origin, as
 * Segment's API allows; an app may narrow that down, checked on the real request, since a
 * preflight carries no write key). A preflight is answered with the method and the headers
 * asked for (the SDKs send Authorization, X-Retry-Count, AnonymousId, Rsa-* …), kept a day.
 */
import type { RouteHandler } from './http-body.ts';

export const PREFLIGHT_MAX_AGE_S = 86_400;
const ALLOWED_METHODS = 'GET, POST, OPTIONS';
/** A header list as browsers send it in Access-Control-Request-Headers: tokens and commas only. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export function withCors(handler: RouteHandler): RouteHandler {
  return async (req, res) => {
    const origin = req.headers.origin;
    res.setHeader('access-control-allow-origin', origin ?? '*');
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      const asked = req.headers['access-control-request-headers'];
      res.writeHead(204, {
        'access-control-allow-methods': ALLOWED_METHODS,
        ...(asked && HEADER_LIST.test(asked) ? { 'access-control-allow-headers': asked } : {}),
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
      });
      res.end();
      return;
    }
    await handler(req, res);
  };
}
