/** The pure decisions of ingest (src/modules/ingest/effects.ts): which trials events start, and which workflows hear of them. */
import { describe, expect, it } from 'vitest';
import { candidatesOf, noticesOf, trialStartOf, unseenTrialSubjects, type AttributedEvent } from '../src/modules/ingest/effects.ts';
import type { IngestEvent } from '../src/modules/ingest/segment-message.ts';
import type { TouchedTrial } from '../src/modules/ingest/event-writer.ts';
import { ingestEvent } from './support/ingest-events.ts';

const at = new Date('2026-01-02T03:04:05Z');
const message = (fields: Partial<IngestEvent>): IngestEvent => ingestEvent({ timestamp: at, receivedAt: at, ...fields });
const trial = (fields: Partial<TouchedTrial>): TouchedTrial => ({
  id: 'trl_1',
  appId: 'app_1',
  userId: 'u1',
  accountId: null,
  segment: 'exploring',
  workflowId: 'trial:app_1:u1',
  ahaReachedAt: null,
  ...fields,
});
const event = (fields: Partial<AttributedEvent>): AttributedEvent => ({
  userId: 'u1',
  groupId: null,
  name: 'Clicked',
  type: 'track',
  properties: {},
  at,
  ...fields,
});
const settings = { ahaEvents: ['Report Viewed'], ahaRules: [{ event: 'Invited', count: 3 }], conversionEvents: ['Paid'], eventAllowList: null };

describe('trialStartOf', () => {
  it('starts a trial from identify traits or a Trial Started track, and nothing else', () => {
    expect(trialStartOf(message({ type: 'identify', traits: { trial_end: '2026-02-01T00:00:00Z', email: 'a@b.co' } }))).toEqual({
      userId: 'u1',
      email: 'a@b.co',
      trialStart: at,
      trialEnd: new Date('2026-02-01T00:00:00Z'),
    });
    expect(trialStartOf(message({ event: 'Trial Started', properties: { trial_start: '2026-01-01T00:00:00Z' } }))).toMatchObject({
      trialStart: new Date('2026-01-01T00:00:00Z'),
      trialEnd: null,
    });
    expect(trialStartOf(message({ event: 'Clicked' }))).toBeNull();
    expect(trialStartOf(message({ type: 'identify', traits: { email: 'a@b.co' } }))).toBeNull();
    expect(trialStartOf(message({ event: 'Trial Started', userId: null }))).toBeNull();
  });
});

describe('candidatesOf and noticesOf', () => {
  it('signals only what can change a segment: an aha, a conversion, or activity while quiet', () => {
    const candidates = candidatesOf([event({ name: 'Clicked' }), event({ name: 'Report Viewed' }), event({ name: 'Invited' })], [trial({})], [], settings);
    expect(candidates.map((candidate) => candidate.ahaRules.map((rule) => rule.event))).toEqual([['Report Viewed'], ['Invited']]);
    // The counted rule is not met: only the plain aha event signals.
    const notices = noticesOf(candidates.map((candidate) => ({ ...candidate, aha: candidate.ahaRules.some((rule) => (rule.count ?? 1) === 1) })));
    expect([...notices]).toEqual([['trial:app_1:u1', { at: at.toISOString(), aha: true, conversion: false }]]);
    expect(noticesOf(candidatesOf([event({ name: 'Clicked' })], [trial({})], [], settings).map((c) => ({ ...c, aha: false }))).size).toBe(0);
    expect(
      [...noticesOf(candidatesOf([event({ name: 'Clicked' })], [trial({ segment: 'gone_quiet' })], [], settings).map((c) => ({ ...c, aha: false })))][0]![1],
    ).toEqual({ at: at.toISOString(), aha: false, conversion: false });
    expect([...noticesOf(candidatesOf([event({ name: 'Paid' })], [trial({})], [], settings).map((c) => ({ ...c, aha: false })))][0]![1].conversion).toBe(true);
  });

  it('ignores final trials, events outside the allow-list, deletes, and aha rules once the aha is reached', () => {
    expect(candidatesOf([event({ name: 'Paid' })], [trial({ segment: 'converted' })], [], settings)).toEqual([]);
    expect(candidatesOf([event({ name: 'Report Viewed' })], [trial({})], [], { ...settings, eventAllowList: ['Paid'] })).toEqual([]);
    expect(candidatesOf([event({ name: 'Report Viewed', type: 'delete' })], [trial({})], [], settings)).toEqual([]);
    expect(candidatesOf([event({ name: 'Report Viewed' })], [trial({ ahaReachedAt: at })], [], settings)).toEqual([]);
    expect(candidatesOf([event({ name: 'Report Viewed', userId: 'someone-else' })], [trial({})], [], settings)).toEqual([]);
  });

  it('merges one notice per workflow: the latest time, aha and conversion', () => {
    const later = new Date(at.getTime() + 60_000);
    const candidates = candidatesOf([event({ name: 'Report Viewed' }), event({ name: 'Paid', at: later })], [trial({})], [], settings);
    const notices = noticesOf(candidates.map((candidate) => ({ ...candidate, aha: candidate.ahaRules.length > 0 })));
    expect([...notices]).toEqual([['trial:app_1:u1', { at: later.toISOString(), aha: true, conversion: true }]]);
  });
});

/** What a write saw: its trials, and the accounts without one that its untagged events' senders are members of. */
const written = (trials: TouchedTrial[], accountsWithoutTrial: Array<{ userId: string }> = []) => ({ trials, accountsWithoutTrial });

describe('unseenTrialSubjects', () => {
  it('names the people (and the account their event names) of aha events whose trial the write did not see, once each', () => {
    const aha = event({ name: 'Report Viewed' });
    expect(unseenTrialSubjects([aha, { ...aha }, event({ name: 'Invited', userId: 'u2' })], written([]), settings)).toEqual([
      { userId: 'u1', groupId: null },
      { userId: 'u2', groupId: null },
    ]);
    // Seen: the person's own trial; and for an event naming an account, that account's trial too.
    expect(unseenTrialSubjects([aha], written([trial({})]), settings)).toEqual([]);
    expect(unseenTrialSubjects([event({ name: 'Report Viewed', groupId: 'acme' })], written([trial({})]), settings)).toEqual([
      { userId: 'u1', groupId: 'acme' },
    ]);
    expect(
      unseenTrialSubjects(
        [event({ name: 'Report Viewed', groupId: 'acme' })],
        written([trial({}), trial({ id: 'trl_2', userId: null, accountId: 'acme' })]),
        settings,
      ),
    ).toEqual([]);
    // An event naming no account, from a person with a trial: looked up again when they are a member of an account the
    // write saw no trial for (another person's membership changes nothing).
    expect(unseenTrialSubjects([aha], written([trial({})], [{ userId: 'u1' }]), settings)).toEqual([{ userId: 'u1', groupId: null }]);
    expect(unseenTrialSubjects([aha], written([trial({})], [{ userId: 'u2' }]), settings)).toEqual([]);
  });

  it('leaves out what no first look at stored events would count: other events, anonymous ones, deletes, events outside the allow-list', () => {
    expect(unseenTrialSubjects([event({ name: 'Clicked' }), event({ name: 'Paid' })], written([]), settings)).toEqual([]);
    expect(unseenTrialSubjects([event({ name: 'Report Viewed', userId: null })], written([]), settings)).toEqual([]);
    expect(unseenTrialSubjects([event({ name: 'Report Viewed', type: 'delete' })], written([]), settings)).toEqual([]);
    expect(unseenTrialSubjects([event({ name: 'Report Viewed' })], written([]), { ...settings, eventAllowList: ['Paid'] })).toEqual([]);
  });
});
