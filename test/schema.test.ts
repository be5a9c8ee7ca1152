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
      // Since account trials: a person's trial by userId, or an account's by accountId (a String! variable still fits).
      'trial(accountId: String, appId: ID!, userId: String)',
      'trials(',
      'enum TrialKind',
      'enum SegmentKey',
      'segmentChanged(',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
