import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `path` so that readers see either the old file or the whole new one: the data goes to a
 * temp file in the same directory (rename is only atomic within one file system), is fsynced, and
 * is renamed over `path`. The temp file is created exclusively with `mode` from the start, so a
 * key is never readable by others, not even for a moment. On failure the temp file is removed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
  options: { durable?: boolean } = {},
): Promise<void> {
  // `durable: false` skips the fsyncs, for caches whose entries are re-verified on read.
  const durable = options.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (durable) await syncDir(dir);
}

/** Makes the rename itself durable; best effort, as some file systems refuse to fsync a dir. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not fatal: the file is complete either way; only durability across a crash is weaker.
  }
}
