/**
 * An account trial (a B2B workspace) is judged on its members: active while any member is,
 * aha once enough members reached the app's aha rule, converted by any member. The segment
 * table itself is the person's (segment-rules.ts); these reduce the members to its inputs.
 * Pure: the workflow's activities, ingestion and the settings preview all call them.
 */

export const DEFAULT_ACCOUNT_AHA_MEMBERS = 1;
export const MAX_ACCOUNT_AHA_MEMBERS = 1000;

/** The two kinds of trial, as GraphQL's TrialKind and the insights' rollups name them. */
export type TrialKind = 'user' | 'account';

/** Who a trial belongs to: a user of the app (a person), or an account (Segment's groupId). */
export type TrialSubject = { kind: 'user'; userId: string } | { kind: 'account'; accountId: string };

/** The lifecycle workflow's id: one id space per kind, so a user and an account spelled alike never share a workflow. */
export function trialWorkflowId(appId: string, subject: TrialSubject): string {
  return subject.kind === 'user' ? `trial:${appId}:${subject.userId}` : `account-trial:${appId}:${subject.accountId}`;
}

/** Whether enough of the members reached aha for the account to count as having found value. */
export function accountReachedAha(membersWithAha: number, accountAhaMembers: number): boolean {
  return membersWithAha >= Math.max(1, accountAhaMembers);
}

/**
 * The accounts an event counts for: the one it names (`context.groupId`, or a group call's
 * groupId) and no other; without one, every account its user belongs to.
 */
export function accountsOfEvent(groupId: string | null, membershipsOfUser: readonly string[]): readonly string[] {
  return groupId !== null ? [groupId] : membershipsOfUser;
}
