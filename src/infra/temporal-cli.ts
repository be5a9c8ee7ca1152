/**
 * Finds (or builds) the Temporal CLI, which holds the dev server and its Web UI.
 * Order: TEMPORAL_CLI, `temporal` on PATH, the cached build, a `go install` into the
 * cache when Go is present, and last the SDK's own download (needs internet).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server.js';
import { StartupError } from '../errors.ts';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'trialcast');
}

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, command))) return join(dir, command);
  }
  return null;
}

/** `go install` of one Go module into `bin` (static, CGO off), printing Go's progress lines to `progress`. */
export async function goInstall(go: string, module: string, bin: string, progress: (line: string) => void, env = process.env): Promise<void> {
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', '-v', module], {
      env: { ...env, CGO_ENABLED: '0', GOBIN: bin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let built = 0;
    let tail = '';
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        tail = `${tail}\n${line}`.slice(-2000);
        built += 1;
        if (built % 100 === 0) progress(`  … ${built} packages built, ${Math.round((Date.now() - started) / 1000)} s`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new StartupError(`go install ${module} failed (exit ${code}):${tail}`))));
  });
}

/** Builds the CLI with `go install` into the cache. */
export async function buildTemporalCli(go: string, progress: (line: string) => void, env = process.env): Promise<string> {
  const target = cachedCliPath(env);
  const bin = join(target, '..');
  progress(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} from Go modules into ${bin} (first time only; about 4 minutes on 2 cores)`);
  const started = Date.now();
  await goInstall(go, MODULE, bin, progress, env);
  progress(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s`);
  return target;
}

/** Where the dev server comes from on this machine. */
export async function resolveTemporalExecutable(progress: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<EphemeralServerExecutable> {
  if (env.TEMPORAL_CLI) {
    if (!isExecutable(env.TEMPORAL_CLI)) throw new StartupError(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file`);
    return { type: 'existing-path', path: env.TEMPORAL_CLI };
  }
  const installed = onPath('temporal', env);
  if (installed) return { type: 'existing-path', path: installed };
  if (existsSync(cachedCliPath(env))) return { type: 'existing-path', path: cachedCliPath(env) };
  const go = onPath('go', env);
  if (go && spawnSync(go, ['version']).status === 0) {
    return { type: 'existing-path', path: await buildTemporalCli(go, progress, env) };
  }
  progress('no Temporal CLI and no Go found: asking the Temporal SDK to download its dev server (needs internet)');
  return { type: 'cached-download', downloadDir: cacheDir(env) };
}

/** CLI entry: `node src/infra/temporal-cli.ts` provisions the CLI and prints its path (used by .ci/run). */
if (import.meta.main) {
  const executable = await resolveTemporalExecutable((line) => console.error(line));
  console.log(executable.type === 'existing-path' ? executable.path : 'sdk-download');
}
