/**
 * `GET /export/trials.csv?appId=…[&segment=…][&search=…]`: an app's trials as CSV, streamed
 * from a database cursor (memory stays flat whatever the app's size), for an email tool or a
 * spreadsheet. Authorization: Bearer with the admin token or the app's API key, as GraphQL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { MikroORM } from '@mikro-orm/postgresql';
import { csvLine } from '../../core/csv.ts';
import { likePrefix } from '../../core/like-prefix.ts';
import { isSegmentKey } from '../../core/segments.ts';
import { answeringHttpErrors, HttpError, type RouteHandler } from '../../infra/http-body.ts';

/** Whether this Authorization header may read this app: the API layer's answer, given to the route. */
export type AppAuthorizer = (authorization: string | undefined, appId: string) => Promise<'allowed' | 'unauthenticated' | 'forbidden'>;

/** `account_id` last: added with account trials, after the columns spreadsheets already map (a user's trial leaves it empty, an account's `user_id`). */
const COLUMNS = [
  'user_id',
  'email',
  'segment',
  'segment_since',
  'reason',
  'trial_start',
  'trial_end',
  'last_activity_at',
  'stripe_customer_id',
  'account_id',
] as const;
/** Rows fetched from the cursor at a time. */
const CHUNK = 2000;

type Row = Record<(typeof COLUMNS)[number], string | Date | null>;
const TIMES = new Set<string>(['segment_since', 'trial_start', 'trial_end', 'last_activity_at']);
/** A cursor's rows carry times as PostgreSQL's text: written as ISO-8601 like the API's. */
const cell = (column: string, value: string | Date | null) => (value !== null && TIMES.has(column) ? new Date(value) : value);

async function write(res: ServerResponse, text: string): Promise<void> {
  if (!res.write(text)) await once(res, 'drain');
}

export function exportRoutes({ orm, authorize }: { orm: MikroORM; authorize: AppAuthorizer }): Record<string, RouteHandler> {
  const trialsCsv = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' });
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const appId = query.get('appId');
    if (!appId) throw new HttpError(400, 'appId is required');
    const segment = query.get('segment');
    if (segment !== null && !isSegmentKey(segment)) throw new HttpError(400, `segment ${JSON.stringify(segment)} is not a segment key`);
    const search = query.get('search');
    if (search !== null && search.length > 200) throw new HttpError(400, 'search is at most 200 characters');
    const verdict = await authorize(req.headers.authorization, appId);
    if (verdict === 'unauthenticated') throw new HttpError(401, 'send Authorization: Bearer <admin token or API key>');
    if (verdict === 'forbidden') throw new HttpError(403, `this API key cannot access app ${appId}`);

    const like = search ? likePrefix(search) : null;
    const rows = orm.em.getConnection().stream<Row>(
      `select t.user_id, t.email, t.segment, sc.occurred_at as segment_since, sc.reason, t.trial_start, t.trial_end, t.last_activity_at, t.stripe_customer_id,
              t.account_id
         from trials t left join segment_changes sc on sc.trial_id = t.id and sc.sequence = t.last_sequence
        where t.app_id = ?` +
        (segment ? ' and t.segment = ?' : '') +
        (like ? ' and (t.user_id ilike ? or t.account_id ilike ? or t.email ilike ?)' : '') +
        ' order by t.user_id, t.account_id',
      [appId, ...(segment ? [segment] : []), ...(like ? [like, like, like] : [])],
      undefined,
      undefined,
      CHUNK,
    );
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="trials-${appId}${segment ? `-${segment}` : ''}.csv"`,
      'cache-control': 'no-store',
    });
    await write(res, csvLine(COLUMNS));
    let batch = '';
    for await (const row of rows) {
      batch += csvLine(COLUMNS.map((column) => cell(column, row[column])));
      if (batch.length > 64 * 1024) {
        await write(res, batch);
        batch = '';
      }
    }
    res.end(batch);
  };
  return { '/export/trials.csv': answeringHttpErrors(trialsCsv) };
}
