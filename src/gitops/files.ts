// Reads the manifests a check is asked about: files, directories (recursively) and stdin.
import { readFile, stat } from 'node:fs/promises';
import { findManifestFiles } from '../fsutil/manifest-files.js';
import { CheckInputError } from './errors.js';
import { parseManifestBytes } from '../state/parse.js';
import type { ManifestObject } from './evaluate.js';
import type { KubeObject } from '../k8s/objects.js';

export interface ManifestFile {
  /** The path as given (or found under a given directory); `-` for stdin. */
  path: string;
  objects: KubeObject[];
}

export async function manifestFiles(
  paths: readonly string[],
  stdin: () => Promise<Buffer>,
): Promise<ManifestFile[]> {
  const files: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      files.push('-');
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      throw new CheckInputError(
        `${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      );
    }
    if (info.isDirectory())
      files.push(
        ...(await findManifestFiles(path, (p, why) => new CheckInputError(`${p}: ${why}`))),
      );
    else files.push(path);
  }
  const out: ManifestFile[] = [];
  for (const path of files) {
    const bytes = path === '-' ? await stdin() : await readFile(path);
    out.push({ path, objects: parseManifestBytes(bytes, path === '-' ? '(stdin)' : path) });
  }
  return out;
}

export function manifestObjects(files: readonly ManifestFile[]): ManifestObject[] {
  return files.flatMap((file) =>
    file.objects.map((object, i) => ({
      object,
      source: file.objects.length > 1 ? `${file.path}#${i + 1}` : file.path,
    })),
  );
}
