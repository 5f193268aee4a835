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

/**
 * `destination`: a stream (tests capture lines), a file path, or stdout by default. Paths and
 * stdout go through pino's sonic-boom writer: on the webhook benchmark a decision line costs
 * ~4 µs that way against ~15 µs through a Node stream.
 */
export function createLogger(
  level: LevelWithSilent = 'info',
  destination?: NodeJS.WritableStream | string,
): Logger {
  const stream =
    destination === undefined || typeof destination === 'string'
      ? pino.destination({ dest: destination ?? 1, sync: false })
      : destination;
  return pino(
    {
      level,
      base: { component: 'streamguard' },
      // Explicit paths only: wildcard redaction costs ~12 µs on every decision line, and decision
      // lines are built from identities and rule ids, never from objects or credentials.
      redact: {
        paths: ['headers.authorization', 'err.config.headers.authorization'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

export type { Logger };
