import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printSortedSchema } from './schema.ts';

export const schemaFile = fileURLToPath(new URL('../../schema.graphql', import.meta.url));

if (import.meta.main) {
  await writeFile(schemaFile, printSortedSchema());
  console.log(`wrote ${schemaFile}`);
}
