import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf, parseDigest } from './digest.js';

/**
 * Content-addressed store: `<dir>/<algorithm>/<hex>` holds the bytes whose digest is
 * `<algorithm>:<hex>`. Only digests are keys (a tag never is: tags move).
 *
 * Safe for several processes sharing the directory at once: an entry is written to a temp file in
 * the same directory (created exclusively, with a random name) and renamed over the final name, so
 * readers see either nothing or a whole file, and concurrent writers of one digest write the same
 * bytes anyway. Every read is re-verified against the digest; a corrupt or truncated entry (disk
 * trouble, a crash before the data reached the disk — entries are not fsynced, since the next read
 * verifies them) is deleted and reported as a miss, so the caller fetches it again.
 */
export class ContentCache {
  constructor(readonly dir: string) {}

  pathFor(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, algorithm, hex);
  }

  /** The verified bytes, or undefined (absent, unreadable or corrupt — a corrupt entry is removed). */
  async get(digest: string): Promise<Buffer | undefined> {
    const path = this.pathFor(digest);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return undefined;
    }
    const { algorithm } = parseDigest(digest);
    if (digestOf(bytes, algorithm) !== digest) {
      await unlink(path).catch(() => undefined);
      return undefined;
    }
    return bytes;
  }

  /** Stores verified bytes. Callers pass bytes they have already checked against `digest`. */
  async put(digest: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathFor(digest);
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    // Entries are re-verified on read, so no fsync: a torn entry is discarded and re-fetched.
    await writeFileAtomic(path, bytes, 0o644, { durable: false });
  }
}
