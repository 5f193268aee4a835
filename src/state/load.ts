// The file-system edge of offline state: find the manifest files under a directory, read them and
// hand the objects to the pure builders. Everything else in src/state is pure.

import { readFile, stat } from 'node:fs/promises';
import { findManifestFiles, reason } from '../fsutil/manifest-files.js';
import type { KubeObject } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { ClusterState } from './index.js';
import { parseManifestBytes } from './parse.js';
import { StateReleaseCatalog } from './releases.js';

export interface LoadedState {
  cluster: ClusterState;
  releases: StateReleaseCatalog;
  /** The files read, in load order. */
  files: string[];
}

/** Loads every `*.yaml|*.yml|*.json` under `dir`, recursively, in sorted order. */
export async function loadStateDir(dir: string): Promise<LoadedState> {
  const info = await stat(dir).catch((err: unknown) => {
    throw new StateError(dir, `cannot read state directory: ${reason(err)}`);
  });
  if (!info.isDirectory()) throw new StateError(dir, 'state path is not a directory');
  const files = await findManifestFiles(dir, (path, why) => new StateError(path, why));
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
