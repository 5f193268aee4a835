// "Loads or fails with the module's own error": anything else escaping (TypeError, RangeError, a
// stack overflow) is a bug, and so is an error that does not say where the problem is.
import assert from 'node:assert/strict';
import { prototypeGuard } from './pollution.js';
import type { Outcomes } from './run.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs `load`; records `loaded` or the error's class name; rethrows anything untyped. Loaded or
 * failed, no shared prototype may have changed while it ran.
 */
export async function loadsOrFailsTyped<T>(
  outcomes: Outcomes,
  load: () => T | Promise<T>,
  allowed: readonly ErrorClass[],
  names: (err: Error) => boolean,
): Promise<T | undefined> {
  const checkPrototypes = prototypeGuard();
  try {
    const value = await load();
    checkPrototypes();
    outcomes.add('loaded');
    return value;
  } catch (err) {
    const typed = allowed.find((c) => err instanceof c);
    if (!typed) throw err;
    checkPrototypes();
    const e = err as Error;
    outcomes.add(e.name);
    assert.ok(names(e), `the ${e.name} does not say where: ${e.message.slice(0, 300)}`);
    assert.ok(
      e.message.length < 100_000,
      `the ${e.name} message is ${e.message.length} characters`,
    );
    return undefined;
  }
}
