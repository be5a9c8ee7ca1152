/**
 * A settings change reaching every open trial of an app: pages of open trials, each signalled
 * by one activity, until none is left. Started by updateSegmentSettings under the app's
 * workflow id, so the mutation answers at once, a process that dies mid-way loses nothing (the
 * activity's next try resumes from the last page done), and a newer change replaces an older
 * rollout (it carries the newer settings to every trial, the ones the older had reached too).
 */
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';
import type { SettingsRolloutInput } from '../src/core/trial-lifecycle.messages.ts';

const { signalSettingsPage } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** The number of trials signalled (by this run and the runs it continued). */
export async function settingsRollout(input: SettingsRolloutInput): Promise<number> {
  let { after, signalled = 0 } = input;
  for (;;) {
    const page = await signalSettingsPage({ appId: input.appId, settings: input.settings, after, pageSize: input.pageSize });
    signalled += page.signalled;
    if (page.next === null) return signalled;
    after = page.next;
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof settingsRollout>({ ...input, after, signalled });
  }
}
