import { resolve } from 'node:path';
import { StartupError } from './errors.ts';
import { parseIsoDuration } from './core/durations.ts';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** null: start an embedded PostgreSQL in dataDir. */
  databaseUrl: string | null;
  /** null: start a local Temporal dev server persisting in dataDir. */
  temporalAddress: string | null;
  temporalNamespace: string;
  temporalTaskQueue: string;
  /** Port of the embedded Temporal dev server (frontend gRPC). */
  temporalDevPort: number;
  temporalUiPort: number;
  /** A deployment's Temporal Web UI, linked from the console; null: the embedded one, when npm start runs it. */
  temporalUiUrl: string | null;
  /** The console's address as people reach it (PUBLIC_URL), for links in Slack messages; null: no links. */
  publicUrl: string | null;
  /** null: generated at first start and kept in dataDir. */
  adminToken: string | null;
  /** Key for integration secrets at rest (base64, 32 bytes); null: kept in dataDir. */
  secretKey: string | null;
  webhookAllowPrivateTargets: boolean;
  logLevel: string;
  production: boolean;
  /** Schema introspection (and GraphiQL); off by default in production. */
  graphqlIntrospection: boolean;
  /** ISO-8601: delivered and failed webhook deliveries (and their attempts) are kept this long. */
  /** ISO-8601: how long events are kept (whole month partitions dropped after it; P0D keeps them forever). */
  eventRetention: string;
  deliveryRetention: string;
  /**
   * Trial workflows a worker keeps in memory between their tasks (about 170 KB each, measured).
   * One evicted is replayed from its history at its next signal or timer, which costs less here
   * than the garbage collection of a workflow heap holding every open trial (README, "Measured
   * here"), so the default bounds the worker's memory rather than fitting every trial.
   */
  workflowCacheSize: number;
  /** The worker's own /metrics (transitions, webhook attempts) on this port; null: none (npm start serves them on the API's /metrics). */
  workerMetricsPort: number | null;
  /** OpenTelemetry tracing: on when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces variant) is set. */
  tracing: boolean;
  /** The Temporal SDK's own Prometheus metrics (workflow task latency, cache hits) on this port; null: not exported. */
  temporalSdkMetricsPort: number | null;
}

type Env = Record<string, string | undefined>;

export const DEFAULT_WORKFLOW_CACHE_SIZE = 2_000;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StartupError(`${name}=${raw} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new StartupError(`${name}=${env[name]} is not a boolean (use true or false)`);
}

function duration(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  if (parseIsoDuration(raw) === null) throw new StartupError(`${name}=${raw} is not an ISO-8601 duration (such as P30D or PT12H)`);
  return raw;
}

function optional(env: Env, name: string): string | null {
  const raw = env[name]?.trim();
  return raw ? raw : null;
}

function databaseUrl(env: Env): string | null {
  const raw = optional(env, 'DATABASE_URL');
  if (raw === null) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StartupError('DATABASE_URL is not a URL; expected postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new StartupError(`DATABASE_URL has scheme ${url.protocol}; expected postgres://user:password@host:5432/database`);
  }
  return raw;
}

function temporalAddress(env: Env): string | null {
  const raw = optional(env, 'TEMPORAL_ADDRESS');
  if (raw === null) return null;
  if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(raw)) {
    throw new StartupError(`TEMPORAL_ADDRESS=${raw} is not host:port (for example 127.0.0.1:7233)`);
  }
  return raw;
}

function httpUrl(env: Env, name: string): string | null {
  const raw = optional(env, name);
  if (raw === null) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StartupError(`${name} is not a URL; expected http(s)://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new StartupError(`${name} has scheme ${url.protocol}; expected http(s)://host:port`);
  return raw;
}

/** OpenTelemetry's own switches: an OTLP endpoint turns tracing on, OTEL_SDK_DISABLED=true off. */
function tracingEnabled(env: Env): boolean {
  return Boolean(optional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? optional(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')) && env.OTEL_SDK_DISABLED !== 'true';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new StartupError(`LOG_LEVEL=${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    dataDir: resolve(optional(env, 'DATA_DIR') ?? './.data'),
    databaseUrl: databaseUrl(env),
    temporalAddress: temporalAddress(env),
    temporalNamespace: optional(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    temporalTaskQueue: optional(env, 'TEMPORAL_TASK_QUEUE') ?? 'trialcast',
    temporalDevPort: integer(env, 'TEMPORAL_DEV_PORT', 7233, 0, 65535),
    temporalUiPort: integer(env, 'TEMPORAL_UI_PORT', 8233, 0, 65535),
    temporalUiUrl: httpUrl(env, 'TEMPORAL_UI_URL'),
    publicUrl: httpUrl(env, 'PUBLIC_URL'),
    adminToken: optional(env, 'ADMIN_TOKEN'),
    secretKey: optional(env, 'SECRET_KEY'),
    webhookAllowPrivateTargets: boolean(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
    logLevel,
    production: env.NODE_ENV === 'production',
    graphqlIntrospection: boolean(env, 'GRAPHQL_INTROSPECTION', env.NODE_ENV !== 'production'),
    deliveryRetention: duration(env, 'DELIVERY_RETENTION', 'P30D'),
    eventRetention: duration(env, 'EVENT_RETENTION', 'P180D'),
    workflowCacheSize: integer(env, 'WORKFLOW_CACHE_SIZE', DEFAULT_WORKFLOW_CACHE_SIZE, 2, 1_000_000),
    tracing: tracingEnabled(env),
    workerMetricsPort: optional(env, 'WORKER_METRICS_PORT') === null ? null : integer(env, 'WORKER_METRICS_PORT', 0, 0, 65535),
    temporalSdkMetricsPort: optional(env, 'TEMPORAL_SDK_METRICS_PORT') === null ? null : integer(env, 'TEMPORAL_SDK_METRICS_PORT', 0, 1, 65535),
  };
}
