import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';

/** A plan directory as file name → content, names sorted, for whole-plan comparisons. */
export async function readPlan(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    files.set(name, await readFile(join(dir, name), 'utf8'));
  }
  return files;
}

/** Asserts that nothing exists at `path` (a failed plan leaves no output behind). */
export async function absent(path: string): Promise<void> {
  await expect(access(path)).rejects.toThrow();
}
