import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentCache } from './cache.js';
import { digestOf } from './digest.js';
import { RegistryError } from './errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-cas-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ContentCache', () => {
  it('stores by digest under <dir>/sha256/<hex> and verifies on read', async () => {
    const cache = new ContentCache(dir);
    const bytes = Buffer.from('{"schemaVersion":2}');
    const digest = digestOf(bytes);
    expect(await cache.get(digest)).toBeUndefined();
    await cache.put(digest, bytes);
    expect(cache.pathFor(digest)).toBe(join(dir, 'sha256', digest.slice(7)));
    expect((await cache.get(digest))?.equals(bytes)).toBe(true);
    expect((await readdir(join(dir, 'sha256'))).filter((f) => f.startsWith('.'))).toEqual([]);

    await writeFile(cache.pathFor(digest), bytes.subarray(0, 5));
    expect(await cache.get(digest)).toBeUndefined();
    await expect(readFile(cache.pathFor(digest))).rejects.toThrow(/ENOENT/);
  });

  it('refuses keys that are not digests (a tag can never be a key)', () => {
    const cache = new ContentCache(dir);
    expect(() => cache.pathFor('latest')).toThrow(RegistryError);
    expect(() => cache.pathFor('sha256:../../etc/passwd')).toThrow(RegistryError);
  });

  it('several processes writing the same entries at once never expose a partial file', async () => {
    const count = 30;
    const cacheModule = fileURLToPath(new URL('./cache.ts', import.meta.url));
    const script = `
      import { createHash } from 'node:crypto';
      import { ContentCache } from ${JSON.stringify(cacheModule)};
      const cache = new ContentCache(process.argv[1]);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < Number(process.argv[2]); i++) {
          // 256 KiB each, the same in every writer.
          const bytes = Buffer.from(createHash('sha512').update('entry ' + i).digest('hex').repeat(2000));
          await cache.put('sha256:' + createHash('sha256').update(bytes).digest('hex'), bytes);
        }
      }
    `;
    const writers = Array.from(
      { length: 3 },
      () =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', '--input-type=module', '-e', script, dir, String(count)],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let stderr = '';
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.once('error', reject);
          child.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(stderr))));
        }),
    );
    let running = true;
    const all = Promise.all(writers).finally(() => {
      running = false;
    });
    // Meanwhile, read every final-named file as it appears: each must be whole.
    let checked = 0;
    const shaDir = join(dir, 'sha256');
    while (running) {
      const names = await readdir(shaDir).catch(() => [] as string[]);
      for (const name of names.filter((n) => !n.startsWith('.'))) {
        const bytes = await readFile(join(shaDir, name));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(name);
        checked++;
      }
      await new Promise((r) => setImmediate(r));
    }
    await all;
    const final = (await readdir(shaDir)).filter((n) => !n.startsWith('.'));
    expect(final).toHaveLength(count);
    expect((await readdir(shaDir)).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });
});
