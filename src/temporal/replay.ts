/**
 * `npm run replay -- HISTORY.json…`: replays workflow histories (the Temporal UI's or CLI's
 * JSON export) against the current workflow code, and exits 1 naming any that diverge.
 * WORKFLOW_BUNDLE=path reuses an already bundled workflow file.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../logger.ts';
import { installTemporalLogging } from './sdk-logging.ts';
import { bundleWorkflows } from './worker.ts';

installTemporalLogging(createLogger('warn'));

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: npm run replay -- HISTORY.json [HISTORY.json …]');
  process.exit(2);
}
const workflowBundle = process.env.WORKFLOW_BUNDLE ? { codePath: process.env.WORKFLOW_BUNDLE } : await bundleWorkflows();
const histories = await Promise.all(files.map(async (file) => ({ workflowId: basename(file), history: JSON.parse(await readFile(file, 'utf8')) })));
let failed = 0;
for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
  if (result.error) failed += 1;
  console.log(`${result.error ? 'DIVERGED' : 'ok'} ${result.workflowId}${result.error ? `: ${result.error.message}` : ''}`);
}
process.exit(failed ? 1 : 0);
