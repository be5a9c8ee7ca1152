import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printSortedSchema } from '../src/graphql/schema.ts';
import { schemaFile } from '../src/graphql/print-schema.ts';

describe('schema.graphql', () => {
  it('matches the Pothos schema (run `npm run schema` after changing types)', async () => {
    expect(await readFile(schemaFile, 'utf8')).toBe(printSortedSchema());
  });

  it('keeps the contract names', () => {
    const sdl = printSortedSchema();
    for (const name of [
      'createApp(input: CreateAppInput!)',
      'startTrial(input: StartTrialInput!)',
      'trial(appId: ID!, userId: String!)',
      'enum SegmentKey',
      'segmentChanged(',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
