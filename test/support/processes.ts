/**
 * Trialcast's real processes (`node src/main.ts <role>`) spawned by a test, killed after each
 * test if still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, inject } from 'vitest';
import { eventually } from './harness.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

export interface Started {
  child: ChildProcess;
  ready: { api: string | null; temporal: string; temporalUi: string | null };
  exited: Promise<{ code: number | null; stderr: string }>;
}

export function spawnMain(
  role: string,
  env: Record<string, string>,
): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }>; lines: string[] } {
  const child = spawn(process.execPath, [MAIN, role], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? '',
      TEMPORAL_CLI: inject('temporalCli'),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve({ code, stderr });
    }),
  );
  return { child, exited, lines };
}

export async function startMain(role: string, env: Record<string, string>): Promise<Started> {
  const { child, exited, lines } = spawnMain(role, env);
  const ready = await Promise.race([
    eventually(async () => {
      const line = lines.find((text) => text.includes('"trialcast ready"'));
      return line ? (JSON.parse(line) as Started['ready']) : undefined;
    }, 90_000),
    exited.then(({ code, stderr }) => {
      throw new Error(`exited with ${code} before ready: ${stderr}`);
    }),
  ]);
  return { child, ready, exited };
}
