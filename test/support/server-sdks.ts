/**
 * The server-side analytics libraries users run, installed from their registries for the suite:
 * Segment's and RudderStack's Python libraries into a virtualenv (PyPI), Segment's Java library
 * built with Maven (Maven Central), each cached outside the repo by what pins it. A runtime the
 * machine lacks is skipped with a warning, unless TRIALCAST_SERVER_SDKS=required (CI), where it fails.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, onPath } from '../../src/infra/temporal-cli.ts';

const FIXTURES = new URL('../fixtures/server-sdks/', import.meta.url).pathname;
export const required = process.env.TRIALCAST_SERVER_SDKS === 'required';

/** How to run one library's client: a command and its arguments before (host, write key, user id). */
export interface SdkClient {
  name: string;
  command: string;
  args: string[];
}

const pinOf = (...files: string[]) =>
  createHash('sha256')
    .update(files.map((file) => readFileSync(join(FIXTURES, file))).join('\n'))
    .digest('hex')
    .slice(0, 12);

/** Runs a command without blocking the event loop (the stack under test shares this process). */
function run(command: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk).slice(-4000)));
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} failed (exit ${code}): ${output.slice(-2000)}`))));
  });
}

/** The two Python libraries in a virtualenv keyed by requirements.txt; null (with the reason) when there is no python3. */
export async function pythonClients(): Promise<{ clients: SdkClient[] } | { missing: string }> {
  const python = onPath('python3');
  if (!python) return { missing: 'python3 is not on PATH' };
  const venv = join(cacheDir(), `python-sdks-${pinOf('requirements.txt')}`);
  const venvPython = join(venv, 'bin', 'python');
  if (!existsSync(join(venv, '.installed'))) {
    await run(python, ['-m', 'venv', venv], 'creating the Python virtualenv');
    await run(
      venvPython,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', join(FIXTURES, 'requirements.txt')],
      'pip install of the Python libraries',
    );
    await run(venvPython, ['-c', `open(${JSON.stringify(join(venv, '.installed'))}, 'w').close()`], 'marking the virtualenv');
  }
  return {
    clients: [
      { name: 'segment-analytics-python (gzip)', command: venvPython, args: [join(FIXTURES, 'segment_python.py')] },
      { name: 'rudder-sdk-python', command: venvPython, args: [join(FIXTURES, 'rudder_python.py')] },
    ],
  };
}

/** Segment's Java library, its client built with Maven into the cache; null (with the reason) without java and mvn. */
export async function javaClient(): Promise<{ clients: SdkClient[] } | { missing: string }> {
  const java = onPath('java');
  const mvn = onPath('mvn');
  if (!java || !mvn) return { missing: 'java and mvn are not both on PATH' };
  const build = join(cacheDir(), `java-sdk-${pinOf('java/pom.xml', 'java/src/main/java/trialcast/SegmentJavaClient.java')}`);
  if (!existsSync(join(build, 'lib'))) {
    await run(mvn, ['-q', '-B', '-f', join(FIXTURES, 'java', 'pom.xml'), `-DbuildDir=${build}`, 'package'], 'mvn package of the Java client');
  }
  return {
    clients: [{ name: 'analytics-java', command: java, args: ['-cp', `${join(build, 'classes')}:${join(build, 'lib', '*')}`, 'trialcast.SegmentJavaClient'] }],
  };
}
