// The manifest files under a directory, shared by the offline state loader and `check`: sorted by
// name (code-unit order) so loading, and so every message, is deterministic. Dotfiles are skipped
// (editor backups, and the `..data` dirs of a mounted ConfigMap, whose files are also linked from
// the mount root). Symlinks are followed — a mounted ConfigMap's files are symlinks — and a set of
// real paths stops directory cycles.
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareStrings } from '../state/order.js';

const MANIFEST = /\.(ya?ml|json)$/i;

/** Makes the caller's own error type for a path that cannot be read. */
export type WalkError = (path: string, reason: string) => Error;

export async function findManifestFiles(dir: string, error: WalkError): Promise<string[]> {
  return walk(dir, new Set(), error);
}

async function walk(dir: string, seen: Set<string>, error: WalkError): Promise<string[]> {
  const real = await realpath(dir).catch((err: unknown) => {
    throw error(dir, `cannot read directory: ${reason(err)}`);
  });
  if (seen.has(real)) return [];
  seen.add(real);
  const names = await readdir(dir).catch((err: unknown) => {
    throw error(dir, `cannot read directory: ${reason(err)}`);
  });
  const files: string[] = [];
  for (const name of names.sort(compareStrings)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const info = await stat(path).catch((err: unknown) => {
      throw error(path, `cannot read: ${reason(err)}`);
    });
    if (info.isDirectory()) files.push(...(await walk(path, seen, error)));
    else if (info.isFile() && MANIFEST.test(name)) files.push(path);
  }
  return files;
}

/** A short reason for the common errno codes, the message otherwise. */
export function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}
