/** `GET /v1/projects/{writeKey}/settings` (Segment) and `GET /sourceConfig/?writeKey=` (RudderStack), with CORS. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { withCors } from '../../infra/cors.ts';
import { answeringHttpErrors, decodePathSegment, HttpError, sendJson, type RouteHandler } from '../../infra/http-body.ts';
import type { IngestService } from './ingest.service.ts';
import { rudderSourceConfig, segmentSettings, type PublicHost } from './sdk-config.ts';

const SEGMENT_SETTINGS = /^\/v1\/projects\/([^/]+)\/settings\/?$/;
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** This host as the client reached it (a proxy in front says https in X-Forwarded-Proto). */
function publicHost(req: IncomingMessage): PublicHost {
  const host = req.headers.host ?? '';
  if (!HOST.test(host)) throw new HttpError(400, 'the Host header is not a host name');
  return { protocol: req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http', host };
}

async function appOf(ingest: IngestService, writeKey: string | null) {
  const app = writeKey ? await ingest.appForWriteKey(writeKey) : null;
  if (!app) throw new HttpError(404, 'no app has this write key');
  return app;
}

async function segment(ingest: IngestService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET, OPTIONS' });
  const match = SEGMENT_SETTINGS.exec((req.url ?? '').split('?')[0]!);
  if (!match) throw new HttpError(404, 'use /v1/projects/{writeKey}/settings');
  const writeKey = decodePathSegment(match[1]!, 'write key');
  await appOf(ingest, writeKey);
  sendJson(res, 200, segmentSettings(writeKey, publicHost(req)), { 'cache-control': 'no-store' });
}

async function rudderstack(ingest: IngestService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET, OPTIONS' });
  const writeKey = new URL(req.url ?? '/', 'http://x').searchParams.get('writeKey');
  const appId = await appOf(ingest, writeKey);
  sendJson(res, 200, rudderSourceConfig(writeKey!, { id: appId, name: appId }), { 'cache-control': 'no-store' });
}

export function sdkConfigRoutes(ingest: IngestService): Record<string, RouteHandler> {
  const rudder = withCors(answeringHttpErrors((req, res) => rudderstack(ingest, req, res)));
  return {
    '/v1/projects/*': withCors(answeringHttpErrors((req, res) => segment(ingest, req, res))),
    '/sourceConfig': rudder,
    '/sourceConfig/': rudder,
  };
}
