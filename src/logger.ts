import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; credentials are redacted wherever they appear in a logged request. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'trialcast' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.secret', '*.apiKey', '*.writeKey', '*.serverToken'],
      censor: '[redacted]',
    },
  });
}
