import { join } from 'node:path';
import { loadOrCreateSecretFile } from './infra/secret-file.ts';
import { newSecret } from './ids.ts';

export function adminTokenFile(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/** ADMIN_TOKEN if set; otherwise the token kept in DATA_DIR, made at first start. */
export async function loadAdminToken(configured: string | null, dataDir: string): Promise<{ token: string; file: string | null }> {
  if (configured) return { token: configured, file: null };
  const file = adminTokenFile(dataDir);
  return { token: await loadOrCreateSecretFile(file, () => newSecret('tca', 32)), file };
}
