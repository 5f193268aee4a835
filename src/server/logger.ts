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
      ? bufferedDestination(destination ?? 1)
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

/**
 * Lines are gathered up to 4 KiB and written in one call, and flushed at least every 250 ms (and
 * at exit, by pino): one write syscall per decision line cost ~20 µs of CPU per request under load.
 */
function bufferedDestination(dest: string | number) {
  const stream = pino.destination({ dest, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Not open yet, or closed: the next tick or pino's exit handler flushes.
    }
  }, 250);
  timer.unref();
  stream.on('close', () => clearInterval(timer));
  return stream;
}

export type { Logger };
