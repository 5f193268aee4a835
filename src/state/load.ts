// The file-system edge of offline state: find the manifest files under a directory, read them and
// hand the objects to the pure builders. Everything else in src/state is pure.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { compareStrings } from './order.js';
import { ClusterState } from './index.js';
import { parseManifestBytes } from './parse.js';
import { StateReleaseCatalog } from './releases.js';

export interface LoadedState {
  cluster: ClusterState;
  releases: StateReleaseCatalog;
  /** The files read, in load order. */
  files: string[];
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** Loads every `*.yaml|*.yml|*.json` under `dir`, recursively, in sorted order. */
export async function loadStateDir(dir: string): Promise<LoadedState> {
  const info = await stat(dir).catch((err: unknown) => {
    throw new StateError(dir, `cannot read state directory: ${reason(err)}`);
  });
  if (!info.isDirectory()) throw new StateError(dir, 'state path is not a directory');
  const files = await manifestFiles(dir, new Set());
  const objects: KubeObject[] = [];
  // One file at a time: a state directory may hold thousands of files (no EMFILE), and the
  // order of objects, hence of every message, stays the order of the files.
  for (const file of files) {
    const bytes = await readFile(file).catch((err: unknown) => {
      throw new StateError(file, `cannot read file: ${reason(err)}`);
    });
    for (const obj of parseManifestBytes(bytes, file)) objects.push(obj);
  }
  return { cluster: new ClusterState(objects), releases: new StateReleaseCatalog(objects), files };
}

/** `--state` is optional: without it the cluster is empty and releases come from the catalog. */
export async function loadState(dir: string | undefined): Promise<LoadedState> {
  if (dir === undefined) {
    return { cluster: new ClusterState(), releases: new StateReleaseCatalog(), files: [] };
  }
  return loadStateDir(dir);
}

/**
 * Sorted by name (code-unit order) so loading, and so every message, is deterministic. Dotfiles
 * are skipped (editor backups, and the `..data` dirs of a mounted ConfigMap, whose files are also
 * linked from the mount root). Symlinks are followed; `seen` stops directory cycles.
 */
async function manifestFiles(dir: string, seen: Set<string>): Promise<string[]> {
  const real = await realpath(dir).catch((err: unknown) => {
    throw new StateError(dir, `cannot read directory: ${reason(err)}`);
  });
  if (seen.has(real)) return [];
  seen.add(real);
  const names = await readdir(dir).catch((err: unknown) => {
    throw new StateError(dir, `cannot read directory: ${reason(err)}`);
  });
  const files: string[] = [];
  for (const name of names.sort(compareStrings)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    const info = await stat(path).catch((err: unknown) => {
      throw new StateError(path, `cannot read: ${reason(err)}`);
    });
    if (info.isDirectory()) files.push(...(await manifestFiles(path, seen)));
    else if (info.isFile() && MANIFEST.test(name)) files.push(path);
  }
  return files;
}

function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}
