/**
 * Stripe subscription events drive trials: signed with the stripe package's own test helper,
 * sent over real HTTP, applied through the lifecycle workflow's updates.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intentOf, stripeSignatureProblem } from '../src/modules/ingest/stripe.ts';
import { collect, eventually, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, SEGMENT_CHANGED, TRIAL, type CreatedApp } from './support/operations.ts';

const SIGNING_SECRET = 'whsec_test_stripe_signing_secret';
const stripe = new Stripe('sk_test_unused');
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

async function appWithStripe(): Promise<CreatedApp> {
  const app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'stripe' })).data!.createApp;
  const { data } = await stack.gql(`mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { stripeSigningSecretSet errors { message } } }`, {
    i: { appId: app.app.id, stripeSigningSecret: SIGNING_SECRET },
  });
  expect(data.updateIntegrations).toEqual({ stripeSigningSecretSet: true, errors: [] });
  return app;
}

function send(appId: string, event: object, options: { secret?: string; timestamp?: number; tamper?: boolean } = {}) {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? SIGNING_SECRET, timestamp: options.timestamp });
  return fetch(`${stack.url}/hooks/stripe/${appId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body: options.tamper ? payload.replace('trialing', 'active') : payload,
  });
}

const subscription = (type: string, status: string, extra: Record<string, unknown> = {}, previous?: object) => ({
  id: `evt_${Math.random().toString(36).slice(2)}`,
  object: 'event',
  type,
  data: {
    object: { id: 'sub_1', object: 'subscription', customer: 'cus_Abc123', status, metadata: { user_id: 'usr_stripe' }, ...extra },
    ...(previous ? { previous_attributes: previous } : {}),
  },
});

describe('Stripe webhooks', () => {
  it('trialing starts the trial, a new trial_end extends it, trialing → active converts it', async () => {
    const app = await appWithStripe();
    const live = collect<{ segmentChanged: { newSegment: string; reason: string } }>(stack.ws(app.apiKey), SEGMENT_CHANGED, { appId: app.app.id });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const start = Math.floor(Date.now() / 1000);
    const created = await send(app.app.id, subscription('customer.subscription.created', 'trialing', { trial_start: start, trial_end: start + 14 * 86_400 }));
    expect(created.status).toBe(200);
    expect(await created.json()).toEqual({ received: true, applied: 'trialing' });
    await live.next(1);
    const { data } = await stack.gql(TRIAL, { appId: app.app.id, userId: 'usr_stripe' });
    expect(data.trial).toMatchObject({ stripeCustomerId: 'cus_Abc123', trialEnd: new Date((start + 14 * 86_400) * 1000).toISOString() });

    await send(app.app.id, subscription('customer.subscription.updated', 'trialing', { trial_start: start, trial_end: start + 30 * 86_400 }));
    await eventually(async () => {
      const trial = (await stack.gql(TRIAL, { appId: app.app.id, userId: 'usr_stripe' })).data.trial;
      return trial.trialEnd === new Date((start + 30 * 86_400) * 1000).toISOString() ? true : undefined;
    });

    const converted = await send(app.app.id, subscription('customer.subscription.updated', 'active', {}, { status: 'trialing' }));
    expect(await converted.json()).toEqual({ received: true, applied: 'convert' });
    expect((await live.next(2))[1]!.segmentChanged).toMatchObject({ newSegment: 'converted', reason: 'converted' });
    // Stripe re-sends: still 200, nothing changes.
    expect((await send(app.app.id, subscription('customer.subscription.updated', 'active', {}, { status: 'trialing' }))).status).toBe(200);
  });

  it('subscription deleted cancels the trial', async () => {
    const app = await appWithStripe();
    const start = Math.floor(Date.now() / 1000);
    await send(app.app.id, subscription('customer.subscription.created', 'trialing', { trial_start: start, trial_end: start + 86_400 * 10 }));
    await eventually(async () => (await stack.gql(TRIAL, { appId: app.app.id, userId: 'usr_stripe' })).data.trial?.segment ?? undefined);
    await send(app.app.id, subscription('customer.subscription.deleted', 'canceled'));
    const trial = (await stack.gql(TRIAL, { appId: app.app.id, userId: 'usr_stripe' })).data.trial;
    expect(trial.segment).toBe('expired');
  });

  it('refuses a bad signature, a tampered body, an old timestamp, and an app without a secret, with 401 naming why', async () => {
    const app = await appWithStripe();
    const event = subscription('customer.subscription.created', 'trialing');
    const cases: Array<[Response, RegExp]> = [
      [await send(app.app.id, event, { secret: 'whsec_other' }), /does not match/],
      [await send(app.app.id, event, { tamper: true }), /does not match/],
      [await send(app.app.id, event, { timestamp: Math.floor(Date.now() / 1000) - 600 }), /more than 300 s/],
      [await send('app_without_secret', event), /no Stripe signing secret/],
    ];
    for (const [response, message] of cases) {
      expect(response.status).toBe(401);
      expect((await response.json()).error).toMatch(message);
    }
    const unsigned = await fetch(`${stack.url}/hooks/stripe/${app.app.id}`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(401);
  });
});

describe('intentOf (pure)', () => {
  it.each([
    [subscription('customer.subscription.created', 'trialing', { trial_end: 100 }), 'trialing'],
    [subscription('customer.subscription.updated', 'active', {}, { status: 'trialing' }), 'convert'],
    [subscription('customer.subscription.updated', 'active', {}, { cancel_at: null }), 'ignore'],
    [subscription('customer.subscription.updated', 'canceled'), 'cancel'],
    [subscription('customer.subscription.deleted', 'canceled'), 'cancel'],
    [{ type: 'invoice.paid', data: { object: { customer: 'cus_1', amount_paid: 2900 } } }, 'convert'],
    [{ type: 'invoice.paid', data: { object: { customer: 'cus_1', amount_paid: 0 } } }, 'ignore'],
    [{ type: 'charge.refunded', data: { object: {} } }, 'ignore'],
    [subscription('customer.subscription.deleted', 'canceled', { customer: '\u0000' }), 'ignore'],
    [{ type: 'invoice.paid', data: { object: { customer: 'x'.repeat(300), amount_paid: 100 } } }, 'ignore'],
  ])('%#: %s', (event, kind) => expect(intentOf(event as never).kind).toBe(kind));

  it('uses metadata.user_id, else the customer id', () => {
    const withoutMetadata = subscription('customer.subscription.created', 'trialing', { metadata: {} });
    expect(intentOf(withoutMetadata)).toMatchObject({ subject: { kind: 'user', userId: 'cus_Abc123' } });
  });

  it('signature check agrees with the stripe package', () => {
    const payload = '{"id":"evt_1"}';
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SIGNING_SECRET });
    expect(stripeSignatureProblem(header, payload, SIGNING_SECRET, Date.now() / 1000)).toBeNull();
    expect(stripeSignatureProblem(header, `${payload} `, SIGNING_SECRET, Date.now() / 1000)).toMatch(/does not match/);
  });
});
