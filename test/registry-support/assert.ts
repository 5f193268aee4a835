import { expect } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';

/** The RegistryError a promise rejects with; fails the test when it resolves or throws another. */
export async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    return err as RegistryError;
  }
  throw new Error('expected a RegistryError');
}
