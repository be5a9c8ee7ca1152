/**
 * A deleted user's personal data leaves the delivery history too: the payloads keep their
 * ids, event, segments, reason, sequence and times (so the history stays consistent: counts,
 * attempts and timings are untouched), but the trial's user id, email and Stripe customer id
 * are erased, and the receivers' response bodies and headers (which may echo the payload)
 * are dropped. A delivery still being retried goes out erased.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

const ERASED_TRIAL = JSON.stringify({ user_id: null, email: null, stripe_customer_id: null, erased: true });

export async function eraseDeliveryPersonalData(em: EntityManager, trialId: string): Promise<void> {
  await em.transactional(async (tx) => {
    await tx.execute(
      `update webhook_deliveries set body = jsonb_set(body::jsonb, '{trial}', coalesce(body::jsonb -> 'trial', '{}'::jsonb) || cast(? as jsonb))::text
        where trial_id = ? and jsonb_typeof(body::jsonb -> 'trial') = 'object'`,
      [ERASED_TRIAL, trialId],
    );
    await tx.execute(
      'update delivery_attempts set response_body = null, response_headers = null where delivery_id in (select id from webhook_deliveries where trial_id = ?)',
      [trialId],
    );
  });
}

/**
 * A deleted person leaves the member lists of the account trials' payloads too (their entry is
 * removed, the rest of the team stays), and the answers to those deliveries, which may echo
 * the payload, are dropped as for a person's own trial.
 */
export async function eraseMemberFromDeliveries(em: EntityManager, appId: string, userId: string): Promise<void> {
  await em.transactional(async (tx) => {
    const touched = await tx.execute<Array<{ id: string }>>(
      `update webhook_deliveries d
          set body = jsonb_set(d.body::jsonb, '{trial,members}',
                coalesce((select jsonb_agg(m) from jsonb_array_elements(d.body::jsonb -> 'trial' -> 'members') m where m ->> 'user_id' is distinct from ?), '[]'))::text
        where d.trial_id in (select id from trials where app_id = ? and account_id is not null)
          and jsonb_typeof(d.body::jsonb -> 'trial' -> 'members') = 'array'
          and d.body::jsonb -> 'trial' -> 'members' @> jsonb_build_array(jsonb_build_object('user_id', cast(? as text)))
        returning d.id`,
      [userId, appId, userId],
    );
    if (touched.length === 0) return;
    await tx.execute(`update delivery_attempts set response_body = null, response_headers = null where delivery_id in (${touched.map(() => '?').join(', ')})`, [
      ...touched.map((row) => row.id),
    ]);
  });
}
