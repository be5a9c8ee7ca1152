import { describe, expect, it } from 'vitest';
import { openOrm } from '../src/infra/orm.ts';
import { createTestDatabase } from './support/harness.ts';
import { ENTITIES } from '../src/modules/entities.ts';

describe('migrations', () => {
  it('a database built by the committed migrations matches the entities exactly', async () => {
    const orm = await openOrm(await createTestDatabase(), ENTITIES);
    try {
      expect(await orm.migrator.getPending()).toEqual([]);
      const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(drift.trim(), 'entities changed without a migration: run `npm run migration:create`').toBe('');
    } finally {
      await orm.close(true);
    }
  });
});
