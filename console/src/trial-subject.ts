/** A trial is a person's (userId) or an account's (accountId): how the console names and links either. */
export interface TrialSubject {
  userId?: string | null;
  accountId?: string | null;
}

/** The id a trial is known by. */
export const trialName = (trial: TrialSubject): string => trial.accountId ?? trial.userId ?? '';

/** A trial's page: `/apps/…/trials/<userId>` for a person, `/apps/…/accounts/<accountId>` for an account. */
export const trialPath = (appId: string, trial: TrialSubject): string =>
  trial.accountId != null
    ? `/apps/${appId}/accounts/${encodeURIComponent(trial.accountId)}`
    : `/apps/${appId}/trials/${encodeURIComponent(trial.userId ?? '')}`;
