/**
 * The Segment HTTP Tracking API (`/v1/identify`, `/v1/track`, …, `/v1/batch`), compatible
 * with Segment's own server libraries pointed at this host.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answeringHttpErrors, HttpError, parseJson, readBody, sendJson } from '../../infra/http-body.ts';
import type { RouteHandler } from '../../infra/http-body.ts';
import { withCors } from '../../infra/cors.ts';
import type { IngestService } from './ingest.service.ts';
import { checkMessage, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MESSAGE_TYPES, type MessageCheck, type MessageType } from './segment-message.ts';

/**
 * Accepts the messages (one call to the ingest use case) and answers: 413 over the batch
 * limit, 429 with Retry-After over the app's rate limit, else which messages were refused by
 * index. `single` answers a lone message's problem as a plain 400; `route` names the path's kind in the events' counts.
 */
export async function acceptMessages(
  ingest: IngestService,
  res: ServerResponse,
  appId: string,
  messages: unknown[],
  check: MessageCheck,
  { route, single = false }: { route: string; single?: boolean },
): Promise<void> {
  const result = await ingest.accept(appId, messages, check, route);
  if (result.kind === 'too_many') throw new HttpError(413, `${result.count} messages; the limit is ${result.limit}`);
  if (result.kind === 'rate_limited')
    throw new HttpError(429, `over this app's rate limit; retry in ${result.retryAfterSeconds} s`, { 'retry-after': String(result.retryAfterSeconds) });
  const { accepted, rejected } = result;
  if (single && rejected.length) throw new HttpError(400, rejected[0]!.error);
  if (single) return sendJson(res, 200, { success: true });
  sendJson(res, accepted || messages.length === 0 ? 200 : 400, { success: rejected.length === 0, accepted, rejected });
}

/**
 * Basic auth with the write key as user name (empty password), else `writeKey` in the body
 * (Segment's browser library), else `?writeKey=` (RudderStack's beacon).
 */
function writeKeyOf(req: IncomingMessage, body: unknown): string | null {
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  const fromBody = (body as { writeKey?: unknown } | null)?.writeKey;
  if (typeof fromBody === 'string' && fromBody) return fromBody;
  return new URL(req.url ?? '/', 'http://x').searchParams.get('writeKey') || null;
}

async function handle(ingest: IngestService, req: IncomingMessage, res: ServerResponse, type: MessageType | 'batch'): Promise<void> {
  if (req.method !== 'POST') throw new HttpError(405, `use POST for /v1/${type}`, { allow: 'POST, OPTIONS' });
  const body = parseJson(await readBody(req, type === 'batch' ? MAX_BATCH_BYTES : MAX_MESSAGE_BYTES));
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
  const writeKey = writeKeyOf(req, body);
  if (!writeKey) throw new HttpError(401, 'missing write key: send HTTP Basic auth with the write key as user name, or writeKey in the body or the query');
  const appId = await ingest.appForWriteKey(writeKey);
  if (!appId) throw new HttpError(401, 'unknown write key');
  const origin = req.headers.origin;
  if (origin && !(await ingest.originAllowed(appId, origin))) throw new HttpError(403, `origin ${origin} is not among this app's allowed origins`);
  const receivedAt = new Date();
  const route = `/v1/${type}`;
  if (type !== 'batch') return acceptMessages(ingest, res, appId, [body], (message) => checkMessage(message, receivedAt, type), { route, single: true });
  const { batch, context } = body as { batch?: unknown; context?: unknown };
  if (!Array.isArray(batch)) throw new HttpError(400, 'batch must be an array of messages');
  const batchContext = typeof context === 'object' && context !== null && !Array.isArray(context) ? (context as Record<string, unknown>) : undefined;
  await acceptMessages(ingest, res, appId, batch, (message) => checkMessage(message, receivedAt, undefined, batchContext), { route });
}

/**
 * Every path a Segment or RudderStack library posts to: the full names, the short ones of
 * Segment's browser library (/v1/t …, /v1/b), the import route of its Ruby and Java
 * libraries, RudderStack's beacon, each with and without a trailing slash, CORS on all.
 */
const PATHS: Record<MessageType | 'batch', string[]> = {
  identify: ['/v1/identify', '/v1/i'],
  track: ['/v1/track', '/v1/t'],
  page: ['/v1/page', '/v1/p'],
  screen: ['/v1/screen', '/v1/s'],
  group: ['/v1/group', '/v1/g'],
  alias: ['/v1/alias', '/v1/a'],
  batch: ['/v1/batch', '/v1/b', '/v1/import', '/beacon/v1/batch'],
};

export function segmentHttpRoutes(ingest: IngestService): Record<string, RouteHandler> {
  return Object.fromEntries(
    [...MESSAGE_TYPES, 'batch' as const].flatMap((type) => {
      const route = withCors(answeringHttpErrors((req, res) => handle(ingest, req, res, type)));
      return PATHS[type].flatMap((path) => [
        [path, route],
        [`${path}/`, route],
      ]);
    }),
  );
}
