import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger.ts';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's own logs through our JSON logger, and, given a bind address, its own
 * metrics (workflow task latency, cache hits, …) to Prometheus there. Once per process, before any worker.
 */
export function installTemporalLogging(logger: Logger, level: LogLevel = 'WARN', metricsBindAddress: string | null = null): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => logger[LEVELS[entry.level]]({ ...entry.meta, temporal: true }, entry.message)),
    ...(metricsBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsBindAddress } } } } : {}),
  });
}
