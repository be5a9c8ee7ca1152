/**
 * Stripe webhook signatures (`Stripe-Signature: t=…,v1=…`): HMAC-SHA256 of `t.body` with the
 * endpoint's signing secret, within a tolerance of the current time. Pure.
 */
import { createHmac } from 'node:crypto';
import { sameHexSignature } from '../../infra/constant-time.ts';
import type { TrialSubject } from '../../core/account-rules.ts';

export const STRIPE_TOLERANCE_S = 300;

/** Null when valid; otherwise what is wrong, for the 401's body. */
export function stripeSignatureProblem(header: string | undefined, body: string, secret: string, nowS: number, toleranceS = STRIPE_TOLERANCE_S): string | null {
  if (!header) return 'missing Stripe-Signature header';
  const parts = header.split(',').map((part) => part.trim().split('='));
  const timestamp = Number(parts.find(([key]) => key === 't')?.[1]);
  const signatures = parts.filter(([key]) => key === 'v1').map(([, value]) => value ?? '');
  if (!Number.isFinite(timestamp) || signatures.length === 0) return 'Stripe-Signature must carry t= and v1=';
  if (Math.abs(nowS - timestamp) > toleranceS) return `Stripe-Signature timestamp is more than ${toleranceS} s from now (replayed or clock skew)`;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest();
  const matches = signatures.some((signature) => sameHexSignature(signature, expected));
  return matches ? null : 'Stripe-Signature does not match the signing secret';
}

interface Subscription {
  id: string;
  customer: string;
  status: string;
  trial_start?: number | null;
  trial_end?: number | null;
  metadata?: Record<string, string> | null;
}

/** An id we can store and look up: Stripe's are short ASCII; anything else is not an id. */
function plainId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 255 && !value.includes('\u0000');
}

/** What a Stripe event asks of a trial; pure, so every branch is testable. */
export type StripeIntent =
  | { kind: 'trialing'; subject: TrialSubject; customerId: string; trialStart: Date | null; trialEnd: Date | null }
  | { kind: 'convert'; subject: TrialSubject | null; customerId: string }
  | { kind: 'cancel'; subject: TrialSubject; customerId: string }
  | { kind: 'ignore'; why: string };

/**
 * Whose trial a subscription is: an account's when its metadata names one (`account_id`, or
 * `group_id` as Segment calls it), else the person in `user_id`, else the Stripe customer.
 */
function subjectOf(subscription: Subscription): TrialSubject {
  const metadata = (subscription.metadata ?? {}) as Record<string, unknown>;
  const accountId = plainId(metadata.account_id) ? metadata.account_id : plainId(metadata.group_id) ? metadata.group_id : null;
  if (accountId !== null) return { kind: 'account', accountId };
  return { kind: 'user', userId: plainId(metadata.user_id) ? metadata.user_id : subscription.customer };
}

export function intentOf(body: unknown): StripeIntent {
  const event = (typeof body === 'object' && body !== null ? body : {}) as { type?: unknown; data?: { object?: unknown; previous_attributes?: unknown } };
  const object = event.data?.object as Record<string, unknown> | undefined;
  if (typeof event.type !== 'string' || typeof object !== 'object' || object === null) return { kind: 'ignore', why: 'not a Stripe event' };
  if (event.type.startsWith('customer.subscription.')) {
    const sub = object as unknown as Subscription;
    if (!plainId(sub.customer)) return { kind: 'ignore', why: 'subscription without a usable customer id' };
    const subject = subjectOf(sub);
    const previous = (event.data?.previous_attributes ?? {}) as { status?: string };
    if (event.type === 'customer.subscription.deleted') return { kind: 'cancel', subject, customerId: sub.customer };
    if (sub.status === 'trialing') {
      const at = (seconds: unknown) => {
        const date = typeof seconds === 'number' ? new Date(seconds * 1000) : null;
        return date && Number.isFinite(date.getTime()) ? date : null;
      };
      return { kind: 'trialing', subject, customerId: sub.customer, trialStart: at(sub.trial_start), trialEnd: at(sub.trial_end) };
    }
    if (sub.status === 'active' && (previous.status === 'trialing' || event.type === 'customer.subscription.created')) {
      return { kind: 'convert', subject, customerId: sub.customer };
    }
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') return { kind: 'cancel', subject, customerId: sub.customer };
    return { kind: 'ignore', why: `subscription status ${sub.status}` };
  }
  if (event.type === 'invoice.paid') {
    const amount = Number(object.amount_paid ?? 0);
    if (!plainId(object.customer) || !(amount > 0)) return { kind: 'ignore', why: 'invoice without a customer or a paid amount' };
    return { kind: 'convert', subject: null, customerId: object.customer };
  }
  return { kind: 'ignore', why: `event type ${event.type} is not used` };
}
