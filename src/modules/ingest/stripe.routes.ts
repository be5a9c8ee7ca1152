/**
 * `POST /hooks/stripe/{appId}`: Stripe subscription events start, extend, convert and cancel
 * trials, through the same workflow updates as GraphQL. Answered 2xx only once done.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import { answeringHttpErrors, decodePathSegment, HttpError, parseJson, readBody, sendJson } from '../../infra/http-body.ts';
import type { RouteHandler } from '../../infra/http-body.ts';
import type { Logger } from '../../logger.ts';
import type { SecretBox } from '../../secret-box.ts';
import { Integrations } from '../apps/integrations.entity.ts';
import { Trial } from '../trials/trial.entity.ts';
import { subjectOfTrial, subjectWhere, type Trials } from '../trials/trials.service.ts';
import { intentOf, stripeSignatureProblem } from './stripe.ts';

export const STRIPE_PREFIX = '/hooks/stripe/';
const MAX_STRIPE_BODY = 512 * 1024;

export interface StripeDeps {
  orm: MikroORM;
  trials: Trials;
  secrets: SecretBox;
  logger: Logger;
}

async function handle(deps: StripeDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' });
  const appId = decodePathSegment((req.url ?? '').split('?')[0]!.slice(STRIPE_PREFIX.length), 'app id');
  const em = deps.orm.em.fork();
  const integrations = await em.findOne(Integrations, { appId });
  if (!integrations?.stripeSigningSecret) throw new HttpError(401, `no Stripe signing secret is set for app ${appId} (updateIntegrations)`);
  const raw = await readBody(req, MAX_STRIPE_BODY);
  const problem = stripeSignatureProblem(
    req.headers['stripe-signature'] as string | undefined,
    raw.toString('utf8'),
    deps.secrets.open(integrations.stripeSigningSecret),
    Date.now() / 1000,
  );
  if (problem) throw new HttpError(401, problem);
  const intent = intentOf(parseJson(raw));

  if (intent.kind === 'trialing') {
    const existing = await em.findOne(Trial, { app: appId, ...subjectWhere(intent.subject) });
    if (!existing) {
      const started = await deps.trials.start(em, {
        appId,
        ...subjectWhere(intent.subject),
        stripeCustomerId: intent.customerId,
        trialStart: intent.trialStart,
        trialEnd: intent.trialEnd,
      });
      if (started.errors.length) throw new HttpError(400, started.errors.map((error) => error.message).join('; '));
    } else if (intent.trialEnd && intent.trialEnd.getTime() !== existing.trialEnd.getTime()) {
      await deps.trials.command(em, appId, intent.subject, { kind: 'extend', trialEnd: intent.trialEnd });
    }
  } else if (intent.kind === 'convert' || intent.kind === 'cancel') {
    const trial = intent.subject
      ? await em.findOne(Trial, { app: appId, ...subjectWhere(intent.subject) })
      : await em.findOne(Trial, { app: appId, stripeCustomerId: intent.customerId });
    // A final trial refuses (TRIAL_FINAL): Stripe re-sending an event changes nothing.
    if (trial) await deps.trials.command(em, appId, subjectOfTrial(trial), { kind: intent.kind });
  }
  sendJson(res, 200, { received: true, ...(intent.kind === 'ignore' ? { ignored: intent.why } : { applied: intent.kind }) });
}

export function stripeRoutes(deps: StripeDeps): Record<string, RouteHandler> {
  return {
    [`${STRIPE_PREFIX}*`]: answeringHttpErrors((req, res) => handle(deps, req, res)),
  };
}
