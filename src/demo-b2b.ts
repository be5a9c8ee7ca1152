/**
 * The B2B half of `npm run demo`: an app whose trials belong to workspaces (Segment group calls,
 * events naming their workspace in context.groupId), where two members must reach aha before a
 * team has found value. Acme's second person's aha moves it to found value; Globex's whole team
 * stops and goes quiet; Initech converts through a signed Stripe subscription event.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { gql, pause, send, type DemoOptions } from './demo-client.ts';

/** The workspaces and their people. */
export const DEMO_WORKSPACES = { acme: ['alice', 'bo', 'cy'], globex: ['dee', 'eli'], initech: ['fay', 'gil', 'hana', 'ivo'] } as const;

const STRIPE_SECRET_BYTES = 24;

/** A Stripe event signed as Stripe signs (`t=…,v1=` HMAC-SHA256 of `t.body`), sent to the app's Stripe receiver. */
async function sendStripe(url: string, appId: string, secret: string, event: object): Promise<void> {
  const body = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  const response = await fetch(`${url}/hooks/stripe/${appId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${signature}` },
    body,
  });
  if (!response.ok) throw new Error(`/hooks/stripe answered ${response.status}: ${await response.text()}`);
}

const subscription = (type: string, status: string, trialEnd: number, previous?: object) => ({
  id: `evt_demo_${randomBytes(6).toString('hex')}`,
  object: 'event',
  type,
  data: {
    object: { id: 'sub_demo_initech', object: 'subscription', customer: 'cus_demo_initech', status, trial_end: trialEnd, metadata: { account_id: 'initech' } },
    ...(previous ? { previous_attributes: previous } : {}),
  },
});

/** Returns the B2B demo app's id once every step has been sent. */
export async function runB2bDemo({ url, adminToken, stepMs, log = () => undefined }: DemoOptions): Promise<string> {
  const { createApp } = await gql<{ createApp: { app: { id: string }; writeKey: string } }>(
    url,
    adminToken,
    'mutation($n: String!) { createApp(input: { name: $n }) { app { id } writeKey } }',
    { n: 'Demo B2B' },
  );
  const appId = createApp.app.id;
  const { writeKey } = createApp;
  const stripeSecret = `whsec_${randomBytes(STRIPE_SECRET_BYTES).toString('base64url')}`;
  await gql(url, adminToken, 'mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }', {
    i: {
      appId,
      ahaEvents: ['Report Viewed'],
      conversionEvents: ['Subscribed'],
      accountAhaMembers: 2,
      inactivityAfter: 'PT30S',
      endingSoonBefore: 'PT2M',
      lastChanceBefore: 'PT1M',
    },
  });
  await gql(url, adminToken, 'mutation($i: UpdateIntegrationsInput!) { updateIntegrations(input: $i) { errors { message } } }', {
    i: { appId, stripeSigningSecret: stripeSecret },
  });
  log(`B2B demo app ${appId}: open ${url}/#/apps/${appId}/trials`);
  const trialEnd = Date.now() + 4 * 60_000;
  const step = () => pause(stepMs);
  const track = (userId: string, event: string, groupId: string) => send(url, writeKey, '/v1/track', { userId, event, context: { groupId } });

  // Acme and Globex start from group calls with trial traits; their people identify first.
  for (const [workspace, people] of Object.entries(DEMO_WORKSPACES)) {
    for (const userId of people) {
      await send(url, writeKey, '/v1/identify', { userId, traits: { email: `${userId}@${workspace}.example` } });
      if (workspace !== 'initech') {
        const traits = { name: workspace[0]!.toUpperCase() + workspace.slice(1), plan: 'team', trial_end: new Date(trialEnd).toISOString() };
        await send(url, writeKey, '/v1/group', { userId, groupId: workspace, traits });
      }
    }
  }
  // Initech's trial is its Stripe subscription's; its people join by their events.
  await sendStripe(url, appId, stripeSecret, subscription('customer.subscription.created', 'trialing', Math.floor(trialEnd / 1000)));
  for (const userId of DEMO_WORKSPACES.initech) await track(userId, 'Dashboard Viewed', 'initech');
  log('3 workspace trials started: acme, globex (group calls) and initech (Stripe)');
  await step();
  await track('alice', 'Report Viewed', 'acme');
  log('alice found value; acme waits for a second person');
  await step();
  await track('bo', 'Report Viewed', 'acme');
  log("bo found value too: acme's team has found value");
  await step();
  await sendStripe(url, appId, stripeSecret, subscription('customer.subscription.updated', 'active', Math.floor(trialEnd / 1000), { status: 'trialing' }));
  log('initech subscribed (Stripe): converted');
  // Globex clicks a little, then everyone stops: the team goes quiet 30 s after its last member.
  for (const userId of DEMO_WORKSPACES.globex) await track(userId, 'Clicked', 'globex');
  log('globex stopped; it goes quiet 30 s after its last member');
  return appId;
}
