/**
 * The deployment topology's infrastructure, run on this machine without containers:
 * - Debian's PostgreSQL server (installed with apt-get when missing), a cluster of its own in
 *   a temporary folder on a free port, holding Trialcast's database and Temporal's two;
 * - a Temporal server with SQL persistence on it (the version docker-compose.yml runs), built
 *   from Go modules into the cache outside the repo, its schemas set up by its own SQL tool.
 * Both restart in place (same port, same data) for the fault drills.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { cacheDir, goInstall, onPath } from '../../src/infra/temporal-cli.ts';
import { freePort } from '../../src/infra/net.ts';
import { sleep } from './harness.ts';

/** docker-compose.yml's temporalio/auto-setup image runs this server version. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program as the postgres user when we are root (initdb and postgres refuse root). */
function asPostgres(program: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
}

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}): ${(result.stderr || result.stdout).slice(-2000)}`);
  return result.stdout;
}

/** Debian's PostgreSQL binaries (/usr/lib/postgresql/<major>/bin), installed with apt-get when missing. */
function debianPostgresBin(progress: (line: string) => void): string {
  const find = () => {
    if (!existsSync('/usr/lib/postgresql')) return null;
    const majors = readdirSync('/usr/lib/postgresql').filter((major) => existsSync(`/usr/lib/postgresql/${major}/bin/initdb`));
    return majors.length ? `/usr/lib/postgresql/${majors.sort((a, b) => Number(b) - Number(a))[0]}/bin` : null;
  };
  const found = find();
  if (found) return found;
  progress("installing Debian's PostgreSQL server (apt-get install postgresql)");
  const apt = asRoot ? ['apt-get'] : ['sudo', 'apt-get'];
  const install = () =>
    spawnSync(apt[0]!, [...apt.slice(1), 'install', '-y', '-q', 'postgresql'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
    });
  if (install().status !== 0) {
    spawnSync(apt[0]!, [...apt.slice(1), 'update', '-q'], { encoding: 'utf8' });
    const second = install();
    if (second.status !== 0) throw new Error(`apt-get install postgresql failed: ${second.stderr.slice(-2000)}`);
  }
  const installed = find();
  if (!installed) throw new Error('apt-get installed postgresql, but no /usr/lib/postgresql/<major>/bin/initdb is there');
  return installed;
}

export class DebianPostgres {
  readonly port: number;
  readonly #bin: string;
  readonly #data: string;

  private constructor(bin: string, data: string, port: number) {
    this.#bin = bin;
    this.#data = data;
    this.port = port;
  }

  /** A fresh cluster in `dir` (trust authentication on loopback only), started. */
  static async create(dir: string, progress: (line: string) => void): Promise<DebianPostgres> {
    const bin = debianPostgresBin(progress);
    const data = join(dir, 'postgres');
    await mkdir(data, { recursive: true });
    if (asRoot) {
      const { uid, gid } = { uid: Number(run('id', ['-u', 'postgres'], 'id -u postgres')), gid: Number(run('id', ['-g', 'postgres'], 'id -g postgres')) };
      chownSync(data, uid, gid);
      chownSync(dir, uid, gid);
    }
    run(...asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync']), 'initdb');
    const postgres = new DebianPostgres(bin, data, await freePort());
    await postgres.start();
    for (const database of ['trialcast', 'temporal', 'temporal_visibility']) {
      run(
        join(bin, 'psql'),
        ['-h', '127.0.0.1', '-p', String(postgres.port), '-U', 'postgres', '-qc', `create database ${database}`],
        `create database ${database}`,
      );
    }
    return postgres;
  }

  urlFor(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** pg_ctl start: waits until the server accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.#data} -c max_connections=300`;
    run(
      ...asPostgres(join(this.#bin, 'pg_ctl'), ['start', '-D', this.#data, '-w', '-t', '60', '-l', join(this.#data, 'server.log'), '-o', options]),
      'pg_ctl start',
    );
  }

  /** pg_ctl stop, fast mode: connections are cut, what was committed stays. */
  async stop(): Promise<void> {
    run(...asPostgres(join(this.#bin, 'pg_ctl'), ['stop', '-D', this.#data, '-m', 'fast', '-w']), 'pg_ctl stop');
  }
}

/** The Temporal server and its SQL tool, built once into the cache (about three minutes on 2 cores). */
async function temporalServerBinaries(progress: (line: string) => void): Promise<{ server: string; sqlTool: string }> {
  const bin = join(cacheDir(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const server = join(bin, 'server');
  const sqlTool = join(bin, 'sql');
  const go = onPath('go');
  for (const [path, module] of [
    [server, `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`],
    [sqlTool, `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`],
  ] as const) {
    if (existsSync(path)) continue;
    if (!go) throw new Error(`no Go toolchain to build ${module} (install Go, or put the binary at ${path})`);
    progress(`building ${module} into ${bin} (first time only)`);
    const started = Date.now();
    await goInstall(go, module, bin, progress);
    progress(`built it in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return { server, sqlTool };
}

/** A free port below 32768: the server stores membership ports in a smallint column. */
async function freeLowPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

interface TemporalPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: [number, number, number, number];
  metrics: number;
}

/** The server's static configuration: its development-postgres12.yaml, on our ports and our PostgreSQL. */
function serverConfig(postgresPort: number, ports: TemporalPorts): string {
  const store = (database: string, maxConns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${database}
        connectAddr: "127.0.0.1:${postgresPort}"
        connectProtocol: tcp
        user: postgres
        password: ""
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store('temporal', 20)}
    postgres-visibility:${store('temporal_visibility', 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${ports.metrics}"
services:
  frontend:${service(ports.frontend, ports.membership[0], ports.frontendHttp)}
  history:${service(ports.history, ports.membership[1])}
  matching:${service(ports.matching, ports.membership[2])}
  worker:${service(ports.worker, ports.membership[3])}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${ports.frontend}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: config/dynamicconfig.yaml
  pollInterval: 10s
`;
}

/** Search attributes registered by a process are visible to the next at once (as the dev server sets it). */
const DYNAMIC_CONFIG = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
`;

export class TemporalServer {
  readonly address: string;
  readonly #server: string;
  readonly #root: string;
  #process: ChildProcess | null = null;

  private constructor(server: string, root: string, frontendPort: number) {
    this.#server = server;
    this.#root = root;
    this.address = `127.0.0.1:${frontendPort}`;
  }

  /** Builds (once), sets up the schemas on `postgres`, starts, and registers the `default` namespace. */
  static async create(dir: string, postgres: DebianPostgres, progress: (line: string) => void): Promise<TemporalServer> {
    const { server, sqlTool } = await temporalServerBinaries(progress);
    for (const [database, schema] of [
      ['temporal', 'postgresql/v12/temporal'],
      ['temporal_visibility', 'postgresql/v12/visibility'],
    ] as const) {
      const connect = ['--plugin', 'postgres12', '--endpoint', '127.0.0.1', '--port', String(postgres.port), '--user', 'postgres', '--database', database];
      run(sqlTool, [...connect, 'setup-schema', '--version', '0.0'], `temporal-sql-tool setup-schema ${database}`);
      run(sqlTool, [...connect, 'update-schema', '--schema-name', schema], `temporal-sql-tool update-schema ${database}`);
    }
    const ports: TemporalPorts = {
      frontend: await freePort(),
      frontendHttp: await freePort(),
      history: await freePort(),
      matching: await freePort(),
      worker: await freePort(),
      membership: [await freeLowPort(), await freeLowPort(), await freeLowPort(), await freeLowPort()],
      metrics: await freePort(),
    };
    const root = join(dir, 'temporal');
    await mkdir(join(root, 'config'), { recursive: true });
    await writeFile(join(root, 'config', 'development.yaml'), serverConfig(postgres.port, ports));
    await writeFile(join(root, 'config', 'dynamicconfig.yaml'), DYNAMIC_CONFIG);
    const temporal = new TemporalServer(server, root, ports.frontend);
    await temporal.start();
    const connection = await Connection.connect({ address: temporal.address });
    try {
      await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') });
    } catch (error) {
      if ((error as { code?: number }).code !== 6) throw error; // 6: it exists already
    } finally {
      await connection.close();
    }
    return temporal;
  }

  async start(): Promise<void> {
    const child = spawn(this.#server, ['--root', this.#root, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], {
      cwd: this.#root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#process = child;
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(500)) {
      if (child.exitCode !== null) throw new Error(`the Temporal server exited at start: ${log}`);
      const connection = await Connection.connect({ address: this.address, connectTimeout: '1s' }).catch(() => null);
      if (!connection) continue;
      const healthy = await connection.workflowService.getSystemInfo({}).then(
        () => true,
        () => false,
      );
      await connection.close();
      if (healthy) return;
    }
    throw new Error(`the Temporal server did not answer within 60 s: ${log}`);
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.#process = null;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }
}
