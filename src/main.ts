/**
 * Process entry: `node src/main.ts all|api|worker`. Operator mistakes end in one clear
 * line on stderr and a non-zero exit, never a stack-trace wall.
 */
import { loadConfig } from './config.ts';
import { StartupError } from './errors.ts';
import { createLogger } from './logger.ts';
import { startRuntime, type Role } from './runtime.ts';
import { installTemporalLogging } from './temporal/sdk-logging.ts';

const ROLES: Role[] = ['all', 'api', 'worker'];

function fail(message: string): never {
  console.error(`trialcast: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const role = (process.argv[2] ?? 'all') as Role;
  if (!ROLES.includes(role)) fail(`unknown role ${role}; use one of ${ROLES.join(', ')}`);
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  installTemporalLogging(
    logger,
    config.logLevel === 'debug' || config.logLevel === 'trace' ? 'INFO' : 'WARN',
    config.temporalSdkMetricsPort === null ? null : `${config.host}:${config.temporalSdkMetricsPort}`,
  );
  const runtime = await startRuntime({ role, config, logger, progress: (line) => console.error(`trialcast: ${line}`) });

  logger.info({ role, api: runtime.apiUrl, temporal: runtime.temporalAddress, temporalUi: runtime.temporalUiUrl }, 'trialcast ready');
  const lines = [
    runtime.apiUrl && `Console              ${runtime.apiUrl}/`,
    runtime.apiUrl && `GraphQL + GraphiQL   ${runtime.apiUrl}/graphql`,
    runtime.apiUrl && `Health / metrics     ${runtime.apiUrl}/healthz  ${runtime.apiUrl}/readyz  ${runtime.apiUrl}/metrics`,
    runtime.temporalUiUrl && `Temporal Web UI      ${runtime.temporalUiUrl}`,
    `Temporal frontend    ${runtime.temporalAddress}`,
    runtime.adminTokenFile && `Admin token          cat ${runtime.adminTokenFile}`,
  ].filter(Boolean);
  console.error(`\ntrialcast ${role} is up:\n  ${lines.join('\n  ')}\n  Ctrl-C stops everything.\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.error('trialcast: second signal, exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    runtime.stop().then(
      () => process.exit(0),
      (error: Error) => fail(`stop failed: ${error.message}`),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) fail(error.message);
  fail(`${(error as Error).message ?? error} (set LOG_LEVEL=debug for details)`);
});
