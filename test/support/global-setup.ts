/**
 * Once per `npm test`: a throw-away PostgreSQL with a migrated template database (each test
 * file clones it), one Temporal dev server on a free port, and the workflow bundle.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/logger.ts';
import { migrateUp, openOrm } from '../../src/infra/orm.ts';
import { startEmbeddedPostgres } from '../../src/infra/postgres.ts';
import { startTemporalDevServer } from '../../src/infra/temporal.ts';
import { resolveTemporalExecutable } from '../../src/infra/temporal-cli.ts';
import { bundleWorkflows } from '../../src/temporal/worker.ts';
import { ENTITIES } from '../../src/modules/entities.ts';

export const TEMPLATE_DATABASE = 'trialcast_template';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
    temporalCli: string;
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger('warn');
  const dir = await mkdtemp(join(tmpdir(), 'trialcast-test-'));
  await chmod(dir, 0o755);

  const executable = await resolveTemporalExecutable((line) => console.error(line));
  const [postgres, temporal, bundle] = await Promise.all([
    startEmbeddedPostgres({ dir: join(dir, 'pg'), database: TEMPLATE_DATABASE, logger, ephemeral: true }),
    startTemporalDevServer({ executable, namespace: 'default' }),
    bundleWorkflows(),
  ]);
  const orm = await openOrm(postgres.url, ENTITIES);
  await migrateUp(orm);
  await orm.close(true);

  const workflowBundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);

  project.provide('postgresUrl', postgres.urlFor('postgres'));
  project.provide('temporalAddress', temporal.address);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalCli', executable.type === 'existing-path' ? executable.path : '');

  return async () => {
    await temporal.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
