// The planner's only file system code: a plan directory appears whole or not at all.
// Files are written into a temporary directory next to the output (same file system, so the
// final rename is atomic), synced, then renamed into place. An existing output is refused unless
// `force`; then it is renamed aside, the new directory renamed in, and the old one removed — and
// if the swap fails, the old directory is put back. On any failure the temporary directory is
// removed, so no partial plan is ever left behind.

import { randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PlanError, PlanExistsError } from './errors.js';
import type { PlanFiles } from './types.js';

/** The file operations writePlanDir uses; replaceable to inject failures in tests. */
export interface PlanFs {
  lstat(path: string): Promise<{ isDirectory(): boolean }>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  mkdtemp(prefix: string): Promise<string>;
  /** Creates `path` (never overwrites), writes `content` and syncs it to disk. */
  writeFile(path: string, content: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { recursive: true; force: true }): Promise<void>;
}

export const nodePlanFs: PlanFs = {
  lstat: (path) => fsp.lstat(path),
  mkdir: (path, options) => fsp.mkdir(path, options),
  mkdtemp: (prefix) => fsp.mkdtemp(prefix),
  async writeFile(path, content) {
    const handle = await fsp.open(path, 'wx', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  rm: (path, options) => fsp.rm(path, options),
};

export interface WritePlanOptions {
  /** Replace an existing output directory. */
  force?: boolean;
  /** File operations (tests inject failures here). */
  fs?: PlanFs;
}

export interface WritePlanResult {
  /** The absolute path of the written directory. */
  path: string;
  /** True when an existing directory was replaced. */
  replaced: boolean;
  /** The old directory when it could not be removed after the swap (the new plan is in place). */
  leftover?: string;
}

const FILE_NAME = /^(?!\.{1,2}$)[^/\\\0]+$/;

export async function writePlanDir(
  out: string,
  files: PlanFiles,
  options: WritePlanOptions = {},
): Promise<WritePlanResult> {
  const fs = options.fs ?? nodePlanFs;
  for (const name of files.keys()) {
    if (!FILE_NAME.test(name)) throw new PlanError(`plan file name "${name}" is not a plain name`);
  }
  const target = resolve(out);
  const parent = dirname(target);
  const base = basename(target);

  const existing = await statOrUndefined(fs, target);
  if (existing) {
    if (!existing.isDirectory()) throw new PlanError(`${out} exists and is not a directory`);
    if (!options.force) throw new PlanExistsError(out);
  }

  await fs.mkdir(parent, { recursive: true });
  const tmp = await fs.mkdtemp(join(parent, `.${base}.tmp-`));
  try {
    for (const [name, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      await fs.writeFile(join(tmp, name), content);
    }
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }

  if (!existing) {
    try {
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (isCode(error, 'EEXIST') || isCode(error, 'ENOTEMPTY')) throw new PlanExistsError(out);
      throw error;
    }
    return { path: target, replaced: false };
  }

  const old = join(parent, `.${base}.old-${randomUUID()}`);
  try {
    await fs.rename(target, old);
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  try {
    await fs.rename(tmp, target);
  } catch (error) {
    // Put the old plan back; only if that fails too is it left at `old` (and said so).
    try {
      await fs.rename(old, target);
    } catch (restoreError) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw new PlanError(
        `could not replace ${out} (${message(error)}) nor restore it (${message(restoreError)}); ` +
          `the previous plan is at ${old}`,
        { cause: error },
      );
    }
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  try {
    await fs.rm(old, { recursive: true, force: true });
  } catch {
    return { path: target, replaced: true, leftover: old };
  }
  return { path: target, replaced: true };
}

async function statOrUndefined(fs: PlanFs, path: string) {
  try {
    return await fs.lstat(path);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
