// pino JSON logs. Objects and secrets never go to the log: decision lines carry identities, rule
// ids and timings only, and the redaction below is a second line of defence.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

export function createLogger(
  level: LevelWithSilent = 'info',
  destination?: NodeJS.WritableStream,
): Logger {
  return pino(
    {
      level,
      base: { component: 'streamguard' },
      redact: {
        paths: [
          '*.key',
          '*.keyPem',
          '*.privateKey',
          '*.password',
          '*.auth',
          '*.token',
          '*.pullSecret',
          'req.headers.authorization',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? process.stdout,
  );
}

export type { Logger };
