/**
 * Integration secrets (Segment shared secret, Stripe signing secret) are stored encrypted
 * with AES-256-GCM under the server's key: SECRET_KEY (base64, 32 bytes) or, for a single
 * machine, a key made at first start and kept in DATA_DIR. Every API process of a
 * deployment needs the same key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StartupError } from './errors.ts';
import { loadOrCreateSecretFile } from './infra/secret-file.ts';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new StartupError('SECRET_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)');
    this.#key = key;
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${sealed.toString('base64url')}`;
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || !data) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}

export async function loadSecretBox(configured: string | null, dataDir: string): Promise<SecretBox> {
  if (configured) return new SecretBox(Buffer.from(configured, 'base64'));
  const key = await loadOrCreateSecretFile(join(dataDir, 'secret-key'), () => randomBytes(32).toString('base64'));
  return new SecretBox(Buffer.from(key, 'base64'));
}
