/** A secret kept in a file of its own (mode 0600), made at first start, read at every start after. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function loadOrCreateSecretFile(file: string, create: () => string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(dirname(file), { recursive: true });
  const secret = create();
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
