import type { IngestEvent } from '../../src/modules/ingest/segment-message.ts';

/** A checked event as ingestion hands it on: a track by user u1 unless `fields` say otherwise. */
export function ingestEvent(fields: Partial<IngestEvent> = {}): IngestEvent {
  const now = new Date();
  return {
    messageId: 'm',
    type: 'track',
    event: null,
    userId: 'u1',
    anonymousId: null,
    previousId: null,
    groupId: null,
    accountTraits: null,
    properties: {},
    traits: {},
    context: {},
    timestamp: now,
    receivedAt: now,
    ...fields,
  };
}
