import { createServer } from 'node:net';
import { StartupError } from '../errors.ts';

/** A port the OS says is free right now on host. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Fails with a clear StartupError when host:port cannot be bound. */
export async function assertPortFree(host: string, port: number, what: string, variable: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new StartupError(
          error.code === 'EADDRINUSE'
            ? `${what} port ${host}:${port} is already in use; stop what is using it or set ${variable} to another port`
            : `cannot listen on ${host}:${port} for ${what} (${error.code ?? error.message}); check ${variable} and HOST`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
