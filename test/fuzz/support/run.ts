// How a fuzz harness is sized and reported: CI runs a fixed seed (printed, so a failure is
// replayable), the long run takes --cases/--seed; every run is bounded in cases and in time.
import fc from 'fast-check';

export interface FuzzRun {
  cases: number;
  seed: number;
  /** Wall-clock bound for the whole run; fast-check stops generating cases after it. */
  timeLimitMs: number;
}

export interface FuzzReport {
  name: string;
  seed: number;
  cases: number;
  seconds: number;
  /** How the inputs ended: an HTTP status, `loaded`, or the typed error's name. */
  outcomes: Record<string, number>;
}

/** The CI seed: fixed so CI is reproducible; FUZZ_SEED replays another one. */
export const CI_SEED = 20_261_122;

export function ciRun(cases: number, timeLimitMs = 60_000): FuzzRun {
  const fromEnv = Number(process.env.FUZZ_SEED);
  return { cases, seed: Number.isInteger(fromEnv) ? fromEnv : CI_SEED, timeLimitMs };
}

/** Counts outcomes by label while a property runs. */
export class Outcomes {
  readonly counts = new Map<string, number>();
  total = 0;

  add(label: string): void {
    this.total++;
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  record(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

/**
 * Runs a property with the run's seed, count and time bound. A counterexample throws fast-check's
 * report, which names the seed and the path to replay it (`fc.assert(…, { seed, path })`).
 */
export async function runProperty(
  name: string,
  run: FuzzRun,
  property: fc.IAsyncProperty<unknown[]> | fc.IProperty<unknown[]>,
  outcomes: Outcomes,
): Promise<FuzzReport> {
  const started = performance.now();
  try {
    await fc.assert(property, {
      seed: run.seed,
      numRuns: run.cases,
      interruptAfterTimeLimit: run.timeLimitMs,
      markInterruptAsFailure: false,
      // Shrinking a server case costs a request per step: bound it too.
      skipAllAfterTimeLimit: run.timeLimitMs,
    });
  } catch (err) {
    // Counterexamples may hold megabytes of generated text: report a bounded message and the
    // failure's own stack, without chaining the full error (test runners choke on printing it).
    const full = err instanceof Error ? err.message : String(err);
    const message = full.length > 4000 ? `${full.slice(0, 4000)}… (${full.length} chars)` : full;
    const cause = (err as { cause?: unknown }).cause;
    const stack =
      cause instanceof Error ? (cause.stack ?? '').split('\n').slice(0, 12).join('\n') : '';
    throw new Error(
      `fuzz ${name} failed (seed ${run.seed}, ${outcomes.total} cases run)\n${message}\n${stack.slice(0, 4000)}`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  return { name, seed: run.seed, cases: outcomes.total, seconds, outcomes: outcomes.record() };
}

export function formatReport(r: FuzzReport): string {
  const rate = r.seconds > 0 ? Math.round(r.cases / r.seconds) : r.cases;
  const outcomes = Object.entries(r.outcomes)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `fuzz ${r.name}: ${r.cases} cases in ${r.seconds.toFixed(1)} s (${rate}/s), seed ${r.seed}; ${outcomes}`;
}
