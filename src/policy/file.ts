// Reads a policy file from disk (the only file-system code of the policy module).
import { readFile } from 'node:fs/promises';
import { PolicyError } from './errors.js';
import { defaultPolicy, parsePolicyBytes } from './load.js';
import type { Policy } from './types.js';

/** The built-in default when no path is given. */
export async function loadPolicyFile(path: string | undefined): Promise<Policy> {
  if (path === undefined) return defaultPolicy();
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new PolicyError([`${path}: cannot read the policy file (${code})`]);
  }
  return parsePolicyBytes(bytes, path);
}
