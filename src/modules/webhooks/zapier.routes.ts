/**
 * Zapier REST hooks, so a Zap needs no paid "Webhooks by Zapier" step: Zapier subscribes a
 * target URL (an endpoint of format `zapier`: the flat payload, with every endpoint's
 * durability), unsubscribes it, asks for sample payloads while the user builds the Zap, and
 * tests its credentials with /zapier/me. Authenticated by an app's API key (`X-API-Key` or Bearer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import { isSegmentKey } from '../../core/segments.ts';
import { answeringHttpErrors, decodePathSegment, HttpError, parseJson, readBody, sendJson, type RouteHandler } from '../../infra/http-body.ts';
import { App } from '../apps/app.entity.ts';
import { sampleChangeBody, TRIAL_EVENT_TYPES } from './catalog.ts';
import { flatPayload } from './formats.ts';
import type { Webhooks } from './webhooks.service.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

export const ZAPIER_HOOKS = '/zapier/hooks';
const MAX_HOOK_BODY = 8 * 1024;
const SAMPLES = 3;

/** The app an API key belongs to; null for no key, a wrong one, or the admin token (a Zap belongs to one app). */
export type AppOfKey = (apiKey: string | null) => Promise<string | null>;

function apiKeyOf(req: IncomingMessage): string | null {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return bearer?.[1] ?? null;
}

export function zapierRoutes({ orm, webhooks, appOfKey }: { orm: MikroORM; webhooks: Webhooks; appOfKey: AppOfKey }): Record<string, RouteHandler> {
  const authenticated = async (req: IncomingMessage): Promise<string> => {
    const appId = await appOfKey(apiKeyOf(req));
    if (!appId) throw new HttpError(401, "send the app's API key as X-API-Key (or Authorization: Bearer)");
    return appId;
  };

  const me = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
    const appId = await authenticated(req);
    const app = await orm.em.fork().findOneOrFail(App, { id: appId }, { fields: ['id', 'name'] });
    sendJson(res, 200, { app: { id: app.id, name: app.name } });
  };

  const subscribe = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' });
    const appId = await authenticated(req);
    const body = parseJson(await readBody(req, MAX_HOOK_BODY)) as { target_url?: unknown; event?: unknown; segment?: unknown } | null;
    const { target_url: targetUrl, event, segment } = body ?? {};
    if (typeof targetUrl !== 'string' || !targetUrl) throw new HttpError(400, 'target_url is required');
    if (typeof event !== 'string' || !TRIAL_EVENT_TYPES.includes(event)) throw new HttpError(400, `event must be one of ${TRIAL_EVENT_TYPES.join(', ')}`);
    if (segment != null && (typeof segment !== 'string' || !isSegmentKey(segment)))
      throw new HttpError(400, 'segment must be a segment key, such as gone_quiet');
    const em = orm.em.fork();
    const created = await webhooks.createEndpoint(em, appId, {
      url: targetUrl,
      format: 'zapier',
      eventTypes: [event],
      segments: segment ? [segment] : null,
      description: `Zapier: ${event}${segment ? ` into ${segment}` : ''}`,
    });
    if (!created.endpoint) {
      const [error] = created.errors;
      throw new HttpError(error?.code === 'LIMIT_REACHED' ? 409 : 400, created.errors.map((problem) => problem.message).join('; '));
    }
    sendJson(res, 201, { id: created.endpoint.id });
  };

  const unsubscribe = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'DELETE') throw new HttpError(405, 'use DELETE', { allow: 'DELETE' });
    const appId = await authenticated(req);
    const id = decodePathSegment((req.url ?? '').split('?')[0]!.slice(ZAPIER_HOOKS.length + 1), 'hook id');
    const em = orm.em.fork();
    // Another app's hook, or an endpoint that is not a Zapier hook, is answered as one that does not exist.
    const endpoint = await em.findOne(WebhookEndpoint, { id, app: appId, format: 'zapier' });
    if (!endpoint) throw new HttpError(404, `no Zapier hook ${id}`);
    await em.remove(endpoint).flush();
    sendJson(res, 200, { deleted: id });
  };

  const samples = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
    const appId = await authenticated(req);
    const event = new URL(req.url ?? '/', 'http://x').searchParams.get('event') ?? 'trial.segment_changed';
    if (!TRIAL_EVENT_TYPES.includes(event)) throw new HttpError(400, `event must be one of ${TRIAL_EVENT_TYPES.join(', ')}`);
    // The latest real payloads of that type, once per move (every endpoint got the same one).
    const rows = await orm.em.getConnection().execute<Array<{ body: string }>>(
      `select body from (
         select distinct on (d.segment_change_id) d.body, d.created_at from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
          where e.app_id = ? and d.event_type = ? and d.segment_change_id is not null
          order by d.segment_change_id, d.created_at desc) latest
        order by created_at desc limit ?`,
      [appId, event, SAMPLES],
    );
    const bodies = rows.length ? rows.map((row) => row.body) : [sampleChangeBody(appId, event)];
    sendJson(
      res,
      200,
      bodies.map((body) => flatPayload(JSON.parse(body))),
    );
  };

  return {
    '/zapier/me': answeringHttpErrors(me),
    [ZAPIER_HOOKS]: answeringHttpErrors(subscribe),
    [`${ZAPIER_HOOKS}/*`]: answeringHttpErrors(unsubscribe),
    '/zapier/samples': answeringHttpErrors(samples),
  };
}
