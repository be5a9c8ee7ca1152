import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * JSON logs on stdout (or `destination`), readable lines instead when stdout is a terminal;
 * credentials are redacted wherever they appear in a logged request.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'trialcast' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.secret', '*.apiKey', '*.writeKey', '*.serverToken'],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination);
  return process.stdout.isTTY ? pino(options, pretty({ colorize: true, ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' })) : pino(options);
}
