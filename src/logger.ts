import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout (or `destination`); credentials are redacted wherever they appear in
 * a logged request.
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
  return destination ? pino(options, destination) : pino(options);
}
