import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newSecret } from './ids.ts';

export function adminTokenFile(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/** ADMIN_TOKEN if set; otherwise the token kept in DATA_DIR, made at first start. */
export async function loadAdminToken(configured: string | null, dataDir: string): Promise<{ token: string; file: string | null }> {
  if (configured) return { token: configured, file: null };
  const file = adminTokenFile(dataDir);
  if (existsSync(file)) return { token: (await readFile(file, 'utf8')).trim(), file };
  await mkdir(dataDir, { recursive: true });
  const token = newSecret('tca', 32);
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}
